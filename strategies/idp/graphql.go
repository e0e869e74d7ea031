package idp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// PathAdminGraphQL is Authgear's Admin API GraphQL endpoint (same Admin API JWT as the
// import API).
const PathAdminGraphQL = "/_api/admin/graphql"

// Looker is a target that can find one user by identifier, immediately consistent.
// *Client is one, through Authgear's getUserByLoginID (the users query depends on a
// search index and may lag, so it is not used).
type Looker interface {
	// LookupUser returns the user whose identifier (email, phone_number or
	// preferred_username) is value, or nil, nil when there is none.
	LookupUser(ctx context.Context, identifier, value string) (*TargetUser, error)
}

// Targets with optional capabilities, checked at compile time.
var (
	_ Looker  = (*Client)(nil)
	_ Deleter = (*Client)(nil)
)

// GraphQLError is an answer whose errors list is not empty.
type GraphQLError struct {
	Messages []string
	Reasons  []string // extensions.reason, e.g. UserNotFound
}

func (e *GraphQLError) Error() string {
	return "admin GraphQL: " + strings.Join(e.Messages, "; ")
}

func (e *GraphQLError) has(reason string) bool {
	for _, r := range e.Reasons {
		if r == reason {
			return true
		}
	}
	return false
}

// graphql posts one operation and decodes its data into out.
func (c *Client) graphql(ctx context.Context, query string, vars map[string]any, out any) error {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return err
	}
	status, data, err := c.do(ctx, http.MethodPost, PathAdminGraphQL, body)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return &APIError{Status: status, Message: FirstLine(data)}
	}
	var resp struct {
		Data   json.RawMessage `json:"data"`
		Errors []struct {
			Message    string `json:"message"`
			Extensions struct {
				Reason string `json:"reason"`
			} `json:"extensions"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(data, &resp); err != nil {
		return fmt.Errorf("admin GraphQL: decode the answer: %w", err)
	}
	if len(resp.Errors) > 0 {
		ge := &GraphQLError{}
		for _, e := range resp.Errors {
			ge.Messages = append(ge.Messages, e.Message)
			ge.Reasons = append(ge.Reasons, e.Extensions.Reason)
		}
		return ge
	}
	return json.Unmarshal(resp.Data, out)
}

// loginIDKeys maps cutover's identifiers to Authgear's default login ID keys.
var loginIDKeys = map[string]string{"email": "email", "phone_number": "phone", "preferred_username": "username"}

const lookupQuery = `query cutoverLookup($key: String!, $value: String!) {
  getUserByLoginID(loginIDKey: $key, loginIDValue: $value) { id createdAt standardAttributes }
}`

// LookupUser finds a user by login ID with Authgear's getUserByLoginID query.
func (c *Client) LookupUser(ctx context.Context, identifier, value string) (*TargetUser, error) {
	key, ok := loginIDKeys[identifier]
	if !ok {
		return nil, fmt.Errorf("look up a user: unknown identifier %q", identifier)
	}
	var data struct {
		User *struct {
			ID        string `json:"id"`
			CreatedAt string `json:"createdAt"`
			Attrs     struct {
				Email             string `json:"email"`
				PhoneNumber       string `json:"phone_number"`
				PreferredUsername string `json:"preferred_username"`
			} `json:"standardAttributes"`
		} `json:"getUserByLoginID"`
	}
	if err := c.graphql(ctx, lookupQuery, map[string]any{"key": key, "value": value}, &data); err != nil {
		return nil, fmt.Errorf("look up %s: %w", identifier, err)
	}
	if data.User == nil {
		return nil, nil
	}
	id, err := UserIDFromNodeID(data.User.ID)
	if err != nil {
		return nil, fmt.Errorf("look up %s: %w", identifier, err)
	}
	created, err := time.Parse(time.RFC3339Nano, data.User.CreatedAt)
	if err != nil {
		return nil, fmt.Errorf("look up %s: createdAt %q: %w", identifier, data.User.CreatedAt, err)
	}
	a := data.User.Attrs
	return &TargetUser{ID: id, Email: a.Email, PhoneNumber: a.PhoneNumber, PreferredUsername: a.PreferredUsername, CreatedAt: created}, nil
}

const deleteMutation = `mutation cutoverDelete($id: ID!) {
  deleteUser(input: {userID: $id}) { deletedUserID }
}`

// deleteWorkers is how many deleteUser requests are in flight at once: one at a time,
// a far-away Authgear deletes a few dozen users a second.
const deleteWorkers = 8

// DeleteUsers deletes users by id with Authgear's deleteUser mutation, one request per
// user, deleteWorkers at a time. Users already gone (a retried request, an earlier
// undo) are not counted and are no error.
func (c *Client) DeleteUsers(ctx context.Context, ids []string) (int, error) {
	var n atomic.Int64
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(deleteWorkers)
	for _, id := range ids {
		g.Go(func() error {
			var data struct {
				Delete *struct {
					DeletedUserID string `json:"deletedUserID"`
				} `json:"deleteUser"`
			}
			err := c.graphql(ctx, deleteMutation, map[string]any{"id": NodeID(id)}, &data)
			var ge *GraphQLError
			switch {
			case errors.As(err, &ge) && ge.has("UserNotFound"):
			case err != nil:
				return fmt.Errorf("delete user %s: %w", id, err)
			case data.Delete != nil:
				n.Add(1)
			}
			return nil
		})
	}
	err := g.Wait()
	return int(n.Load()), err
}

// NodeID is the Admin API GraphQL id of a user: base64url (no padding) of "User:<id>",
// where id is the raw UUID the import API returns.
func NodeID(userID string) string {
	return base64.RawURLEncoding.EncodeToString([]byte("User:" + userID))
}

// UserIDFromNodeID is the raw user id in a GraphQL node id.
func UserIDFromNodeID(node string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(node, "="))
	if err != nil || !strings.HasPrefix(string(b), "User:") {
		return "", fmt.Errorf("%q is not a user's node id (base64url of User:<id>)", node)
	}
	return strings.TrimPrefix(string(b), "User:"), nil
}

// PasswordChecker is a target that can say whether a user has a password to sign in
// with. AuthFlow uses it to tell a user imported without a password from a wrong
// password, which Authgear's sign-in answers alike (401 InvalidCredentials).
type PasswordChecker interface {
	// HasPrimaryPassword reports whether the user with this identifier exists (known)
	// and has a primary password.
	HasPrimaryPassword(ctx context.Context, identifier, value string) (known, has bool, err error)
}

var _ PasswordChecker = (*Client)(nil)

const authenticatorsQuery = `query cutoverAuthenticators($key: String!, $value: String!) {
  getUserByLoginID(loginIDKey: $key, loginIDValue: $value) { id authenticators { edges { node { type kind } } } }
}`

// HasPrimaryPassword asks Authgear's getUserByLoginID for the user's authenticators.
func (c *Client) HasPrimaryPassword(ctx context.Context, identifier, value string) (bool, bool, error) {
	key, ok := loginIDKeys[identifier]
	if !ok {
		return false, false, fmt.Errorf("look up a user: unknown identifier %q", identifier)
	}
	var data struct {
		User *struct {
			Authenticators struct {
				Edges []struct {
					Node struct {
						Type string `json:"type"`
						Kind string `json:"kind"`
					} `json:"node"`
				} `json:"edges"`
			} `json:"authenticators"`
		} `json:"getUserByLoginID"`
	}
	if err := c.graphql(ctx, authenticatorsQuery, map[string]any{"key": key, "value": value}, &data); err != nil {
		return false, false, fmt.Errorf("look up the authenticators of %s: %w", identifier, err)
	}
	if data.User == nil {
		return false, false, nil
	}
	for _, e := range data.User.Authenticators.Edges {
		if e.Node.Type == "PASSWORD" && e.Node.Kind == "PRIMARY" {
			return true, true, nil
		}
	}
	return true, false, nil
}
