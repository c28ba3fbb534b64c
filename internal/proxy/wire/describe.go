package wire

import (
	"encoding/json"
	"errors"
)

// ProtocolLatestSession is the newest protocol version with sessions (before
// the stateless era): the version the proxy asks for when it initializes a
// server itself.
const ProtocolLatestSession = "2025-11-25"

// Description is what an MCP server said of itself when it answered MCP:
// its serverInfo, the protocol version agreed and its tools' names.
type Description struct {
	Name            string
	Version         string
	ProtocolVersion string
	// Tools are the server's own tool names, as it listed them (before the
	// tool configuration's filter); nil when the server has no tools
	// capability or did not list them.
	Tools []string
}

// discoverServerInfo is where a server/discover result names the server.
const discoverServerInfo = "io.modelcontextprotocol/serverInfo"

// Describe reads an initialize result, or a server/discover result (whose
// protocol version is the newest it supports).
func Describe(result json.RawMessage) (Description, error) {
	var r struct {
		ProtocolVersion   string   `json:"protocolVersion"`
		SupportedVersions []string `json:"supportedVersions"`
		ServerInfo        *struct {
			Name    string `json:"name"`
			Version string `json:"version"`
		} `json:"serverInfo"`
		Meta map[string]json.RawMessage `json:"_meta"`
	}
	if err := json.Unmarshal(result, &r); err != nil {
		return Description{}, err
	}
	if r.ServerInfo == nil && r.Meta[discoverServerInfo] != nil {
		_ = json.Unmarshal(r.Meta[discoverServerInfo], &r.ServerInfo)
	}
	if r.ProtocolVersion == "" {
		for _, v := range r.SupportedVersions {
			r.ProtocolVersion = max(r.ProtocolVersion, v)
		}
	}
	if r.ServerInfo == nil || r.ProtocolVersion == "" {
		return Description{}, errors.New("the result has no serverInfo or protocol version")
	}
	return Description{Name: r.ServerInfo.Name, Version: r.ServerInfo.Version, ProtocolVersion: r.ProtocolVersion}, nil
}

// ToolNames reads one page of a tools/list result: the tools' names and
// the cursor of the next page ("" on the last).
func ToolNames(result json.RawMessage) (names []string, next string, err error) {
	var r struct {
		Tools []struct {
			Name string `json:"name"`
		} `json:"tools"`
		NextCursor string `json:"nextCursor"`
	}
	if err := json.Unmarshal(result, &r); err != nil {
		return nil, "", err
	}
	names = make([]string, 0, len(r.Tools))
	for _, t := range r.Tools {
		names = append(names, t.Name)
	}
	return names, r.NextCursor, nil
}

// HasTools reports whether an initialize result announces the tools
// capability.
func HasTools(result json.RawMessage) bool {
	var r struct {
		Capabilities map[string]json.RawMessage `json:"capabilities"`
	}
	_ = json.Unmarshal(result, &r)
	return r.Capabilities["tools"] != nil
}
