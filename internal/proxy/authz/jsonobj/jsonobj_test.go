package jsonobj

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeKeepsOrderAndBytes(t *testing.T) {
	ms, err := Decode([]byte(` {"b": [1, 2],"a":{"x" : 1.50},"<tag>":"\u0041"} `))
	if err != nil {
		t.Fatal(err)
	}
	want := Members{
		{Name: "b", Value: json.RawMessage(`[1, 2]`)},
		{Name: "a", Value: json.RawMessage(`{"x" : 1.50}`)},
		{Name: "<tag>", Value: json.RawMessage(`"\u0041"`)},
	}
	if diff := cmp.Diff(want, ms); diff != "" {
		t.Errorf("members (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(`{"b":[1, 2],"a":{"x" : 1.50},"<tag>":"\u0041"}`, string(ms.Encode())); diff != "" {
		t.Errorf("Encode (-want +got):\n%s", diff)
	}
}

func TestDecodeRefusesWhatIsNotOneObject(t *testing.T) {
	for _, data := range []string{``, `null`, `[]`, `"x"`, `{"a":1} {}`, `{"a":}`, `{"a":1`} {
		if _, err := Decode([]byte(data)); err == nil {
			t.Errorf("Decode(%s) succeeded", data)
		}
	}
}

func TestGet(t *testing.T) {
	tests := []struct {
		name, object, member string
		want                 string
		found                bool
		err                  string
	}{
		{"a member given once", `{"tools":[1]}`, "tools", `[1]`, true, ""},
		{"an absent member", `{"tool":[1]}`, "tools", ``, false, ""},
		{"a member given twice", `{"tools":[],"tools":[1]}`, "tools", ``, false, `member "tools" occurs more than once`},
		{"a member also spelled in upper case", `{"tools":[],"TOOLS":[1]}`, "tools", ``, false, `member "tools" is also spelled "TOOLS"`},
		{"a member spelled only with a long s folds too", `{"toolſ":[1]}`, "tools", ``, false, `member "tools" is also spelled "toolſ"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := Decode([]byte(tt.object))
			if err != nil {
				t.Fatal(err)
			}
			got, found, err := ms.Get(tt.member)
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if diff := cmp.Diff([]any{tt.want, tt.found, tt.err}, []any{string(got), found, gotErr}); diff != "" {
				t.Errorf("Get (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSetReplacesOrAppends(t *testing.T) {
	ms, _ := Decode([]byte(`{"name":"a","x":1}`))
	ms = ms.Set("name", String("b<c"))
	ms = ms.Set("description", String("d"))
	ms.Replace("absent", json.RawMessage(`1`))
	if diff := cmp.Diff(`{"name":"b<c","x":1,"description":"d"}`, string(ms.Encode())); diff != "" {
		t.Errorf("Encode (-want +got):\n%s", diff)
	}
}

func TestAmbiguous(t *testing.T) {
	tests := []struct {
		data string
		want bool
	}{
		{`{"name":"a","arguments":{"x":1}}`, false},
		{`{"name":"a","name":"b"}`, true},
		{`{"name":"a","Name":"b"}`, true},
		{`{"a":{"k":1,"K":2}}`, true},
		{`{"a":[{"k":1},{"k":2}]}`, false},
		{`{"a":[{"k":1,"k":2}]}`, true},
		{`{"a":{"k":1},"b":{"k":1}}`, false},
		{`{"a":[[{"x":1}],{"y":2,"Y":3}]}`, true},
		{`{"k":1,"\u006b":2}`, true},
		{`{"a":1,"b":{"c":[1,{"d":2}],"e":3},"f":4}`, false},
		{`{"a":1,"b":{"c":[1,{"d":2}],"e":3},"A":4}`, true},
		{`[{"a":1,"a":2}]`, true},
		{`"x"`, false},
		{`{"a":1,"b":`, false},
	}
	for _, tt := range tests {
		if got := Ambiguous([]byte(tt.data)); got != tt.want {
			t.Errorf("Ambiguous(%s) = %v, want %v", tt.data, got, tt.want)
		}
	}
}

func TestArray(t *testing.T) {
	items, err := Array(json.RawMessage(` [ {"a":1} , 2 ] `))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(`[{"a":1},2]`, string(EncodeArray(items))); diff != "" {
		t.Errorf("EncodeArray (-want +got):\n%s", diff)
	}
	for _, data := range []string{`null`, `{}`, `"x"`} {
		if _, err := Array(json.RawMessage(data)); err == nil {
			t.Errorf("Array(%s) succeeded", data)
		}
	}
}

// FuzzDecode checks Decode and Array against encoding/json: what they
// split and Encode joins again means what the input meant.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"a":1,"b":[1,{"c":"}"}],"d\"e":null}`, ` { } `, `{"a":"\u00e9\\"}`, `[1, "x", {"y": []}]`, `{"a":1}x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		var want any
		if json.Unmarshal([]byte(data), &want) != nil {
			if _, err := Decode([]byte(data)); err == nil {
				t.Errorf("Decode(%q) accepts what encoding/json refuses", data)
			}
			return
		}
		var got any
		if ms, err := Decode([]byte(data)); err == nil {
			if err := json.Unmarshal(ms.Encode(), &got); err != nil {
				t.Fatalf("Decode(%q).Encode() = %s: %v", data, ms.Encode(), err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Decode(%q) changed the object (-want +got):\n%s", data, diff)
			}
		}
		if items, err := Array([]byte(data)); err == nil {
			if err := json.Unmarshal(EncodeArray(items), &got); err != nil {
				t.Fatalf("Array(%q) = %s: %v", data, EncodeArray(items), err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Array(%q) changed the array (-want +got):\n%s", data, diff)
			}
		}
	})
}

func TestObjects(t *testing.T) {
	objects, err := Objects(json.RawMessage(`[{"name":"a"}, {"name":"b","x":[1]}]`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Object{
		{Raw: json.RawMessage(`{"name":"a"}`), Members: Members{{Name: "name", Value: json.RawMessage(`"a"`)}}},
		{Raw: json.RawMessage(`{"name":"b","x":[1]}`), Members: Members{{Name: "name", Value: json.RawMessage(`"b"`)}, {Name: "x", Value: json.RawMessage(`[1]`)}}},
	}
	if diff := cmp.Diff(want, objects); diff != "" {
		t.Errorf("Objects (-want +got):\n%s", diff)
	}
	for data, msg := range map[string]string{
		`null`:        "not a JSON array",
		`[{}, 1]`:     "element 1: not a JSON object",
		`[{"a":1},{"`: `not a JSON array: unexpected end of JSON input`,
	} {
		if _, err := Objects(json.RawMessage(data)); err == nil || err.Error() != msg {
			t.Errorf("Objects(%s) error = %v, want %q", data, err, msg)
		}
	}
}
