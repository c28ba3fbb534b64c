package cli

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"unicode"
)

// tokenEnv is the default of --token. A token in the environment stays out
// of shell history and of the process list, where a flag's value shows.
const tokenEnv = "SWITCHBOARD_TOKEN"

// tokenFlags are the ways to give the bearer token the CLI sends.
type tokenFlags struct {
	token string
	file  string
}

func (t *tokenFlags) bind(fs *flag.FlagSet) {
	// The environment is read in resolve, not here, so that the token is
	// never a flag default that a usage message would print.
	fs.StringVar(&t.token, "token", "", "bearer token to send to the server (default $"+tokenEnv+")")
	fs.StringVar(&t.file, "token-file", "", "read the bearer token from this file, e.g. one written by kubectl create token")
}

// resolve returns the token to send, or "" for none. A flag given wins over
// the environment, so --token "" sends no token whatever the environment
// holds.
func (t *tokenFlags) resolve(fs *flag.FlagSet) (string, error) {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var token, from string
	switch {
	case given["token"] && given["token-file"]:
		return "", fmt.Errorf("%w: give --token or --token-file, not both", errUsage)
	case given["token-file"]:
		b, err := os.ReadFile(t.file)
		if err != nil {
			return "", fmt.Errorf("read --token-file: %w", err)
		}
		token, from = strings.TrimSpace(string(b)), "--token-file "+t.file
		if token == "" {
			return "", fmt.Errorf("%s is empty", from)
		}
	case given["token"]:
		token, from = strings.TrimSpace(t.token), "--token"
	default:
		token, from = strings.TrimSpace(os.Getenv(tokenEnv)), tokenEnv
	}
	// A pasted "Bearer xyz" or two tokens in one file would otherwise reach
	// the server as a malformed header and come back as a puzzling 401.
	if strings.ContainsFunc(token, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return "", fmt.Errorf("the token from %s has spaces or control characters in it; give the token alone, without \"Bearer \"", from)
	}
	return token, nil
}
