package mockidp

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// PathAdminGraphQL is Authgear's Admin API GraphQL endpoint. The mock answers the two
// operations cutover sends there, getUserByLoginID and deleteUser, with their arguments
// given as literals or variables; it is not a GraphQL server, and any other document
// gets a GraphQL error saying what it answers.
const PathAdminGraphQL = "/_api/admin/graphql"

var (
	gqlGetUser    = regexp.MustCompile(`\bgetUserByLoginID\s*\(`)
	gqlDeleteUser = regexp.MustCompile(`\bdeleteUser\s*\(`)
	gqlSelection  = regexp.MustCompile(`\)\s*\{([^{}]*)\}`)
	gqlArgs       = map[string]*regexp.Regexp{"loginIDKey": argRe("loginIDKey"), "loginIDValue": argRe("loginIDValue"), "userID": argRe("userID")}
)

// argRe matches name: "literal" or name: $variable.
func argRe(name string) *regexp.Regexp {
	return regexp.MustCompile(`\b` + name + `\s*:\s*(?:\$(\w+)|("(?:[^"\\]|\\.)*"))`)
}

// gqlArg is the value of argument name in query: a string literal, or a $variable.
func gqlArg(query string, vars map[string]any, name string) (string, bool) {
	m := gqlArgs[name].FindStringSubmatch(query)
	switch {
	case m == nil:
		return "", false
	case m[1] != "":
		v, ok := vars[m[1]].(string)
		return v, ok
	}
	var v string
	return v, json.Unmarshal([]byte(m[2]), &v) == nil
}

type gqlError struct {
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

func writeGraphQL(w http.ResponseWriter, data any, errs ...gqlError) {
	out := map[string]any{"data": data}
	if len(errs) > 0 {
		out["errors"] = errs
	}
	writeJSON(w, http.StatusOK, out)
}

func invalid(reason, msg string) gqlError {
	return gqlError{Message: msg, Extensions: map[string]any{"errorName": "Invalid", "reason": reason}}
}

func (s *Server) handleGraphQL(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err == nil {
		err = json.Unmarshal(data, &req)
	}
	if err != nil || req.Query == "" {
		writeJSON(w, http.StatusBadRequest, map[string]any{"errors": []gqlError{{Message: `the body must be {"query": "...", "variables": {...}}`}}})
		return
	}
	switch {
	case gqlGetUser.MatchString(req.Query):
		s.gqlGetUserByLoginID(w, r, req.Query, req.Variables)
	case gqlDeleteUser.MatchString(req.Query):
		s.gqlDeleteUser(w, r, req.Query, req.Variables)
	default:
		writeGraphQL(w, nil, gqlError{Message: "the mock IdP's Admin GraphQL answers only getUserByLoginID and deleteUser"})
	}
}

// gqlGetUserByLoginID answers getUserByLoginID(loginIDKey, loginIDValue) with the
// fields the query selects among id, createdAt and standardAttributes.
func (s *Server) gqlGetUserByLoginID(w http.ResponseWriter, r *http.Request, q string, vars map[string]any) {
	key, ok1 := gqlArg(q, vars, "loginIDKey")
	value, ok2 := gqlArg(q, vars, "loginIDValue")
	if !ok1 || !ok2 {
		writeGraphQL(w, map[string]any{"getUserByLoginID": nil}, invalid("GetUsersInvalidArgument", "loginIDKey and loginIDValue are required strings"))
		return
	}
	f := userFilter{Limit: 1}
	if !slices.Contains(s.cfg.LoginIDKeys, key) {
		// Authgear refuses a key the project does not allow as a login id.
		key = ""
	}
	switch key {
	case "email":
		f.Email = value
	case "phone":
		f.Phone = value
	case "username":
		f.Username = value
	default:
		writeGraphQL(w, map[string]any{"getUserByLoginID": nil}, invalid("GetUsersInvalidArgument", "invalid Login ID key"))
		return
	}
	users, _, err := s.store.list(r.Context(), f)
	if err != nil {
		s.log.Error("graphql: look up a user", "err", err)
		writeGraphQL(w, map[string]any{"getUserByLoginID": nil}, gqlError{Message: "unexpected error", Extensions: map[string]any{"errorName": "InternalError"}})
		return
	}
	if len(users) == 0 {
		writeGraphQL(w, map[string]any{"getUserByLoginID": nil})
		return
	}
	u := users[0]
	sel := ""
	if m := gqlSelection.FindStringSubmatch(q[gqlGetUser.FindStringIndex(q)[0]:]); m != nil {
		sel = m[1]
	}
	out := map[string]any{}
	for _, f := range strings.Fields(sel) {
		switch f {
		case "id":
			out["id"] = nodeID(u.ID)
		case "createdAt":
			out["createdAt"] = u.CreatedAt.UTC().Format(time.RFC3339Nano)
		case "standardAttributes":
			c := userClaims(u)
			delete(c, "sub")
			// Authgear's standard attributes carry when they last changed, in Unix seconds.
			c["updated_at"] = u.UpdatedAt.Unix()
			out["standardAttributes"] = c
		}
	}
	writeGraphQL(w, map[string]any{"getUserByLoginID": out})
}

// gqlDeleteUser answers deleteUser(input: {userID}) with {deletedUserID}.
func (s *Server) gqlDeleteUser(w http.ResponseWriter, r *http.Request, q string, vars map[string]any) {
	node, ok := gqlArg(q, vars, "userID")
	id, okID := userIDOf(node)
	if !ok || !okID {
		// Authgear answers a failed mutation with data null.
		writeGraphQL(w, nil, invalid("Invalid", "invalid user ID: userID must be a user's node id (base64url of User:<id>)"))
		return
	}
	n, err := s.store.deleteIDs(r.Context(), []string{id})
	switch {
	case err != nil:
		s.log.Error("graphql: delete a user", "err", err)
		writeGraphQL(w, nil, gqlError{Message: "unexpected error", Extensions: map[string]any{"errorName": "InternalError"}})
	case n == 0:
		writeGraphQL(w, nil, gqlError{Message: "user not found", Extensions: map[string]any{"errorName": "NotFound", "reason": "UserNotFound"}})
	default:
		writeGraphQL(w, map[string]any{"deleteUser": map[string]any{"deletedUserID": node}})
	}
}

// nodeID is a user's GraphQL id, as Authgear makes it: base64url of "User:<id>".
func nodeID(id string) string { return base64.RawURLEncoding.EncodeToString([]byte("User:" + id)) }

func userIDOf(node string) (string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(node, "="))
	if err != nil {
		return "", false
	}
	return strings.CutPrefix(string(b), "User:")
}
