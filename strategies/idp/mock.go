package idp

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Mock-only endpoints of the bundled mock IdP (same Admin API JWT as the import API).
const (
	PathMockUsers  = "/_mock/users"
	PathMockDelete = "/_mock/users/delete"
)

// Finder is a target that can list its users, for a dry run's prediction. The mock IdP
// is one; Authgear's users query depends on a search index that may lag, so a real
// Authgear is not listed (single lookups go through Looker).
type Finder interface {
	FindUsers(ctx context.Context, q Query) (*UserPage, error)
}

// Deleter is a target that can delete users by id (for `cutover undo`): *Client through
// Authgear's deleteUser mutation, *MockClient through the mock's batch endpoint.
type Deleter interface {
	DeleteUsers(ctx context.Context, ids []string) (int, error)
}

// Query selects users by identifier; empty fields do not filter. Limit 0 means the
// server's default page size.
type Query struct {
	Email             string
	PhoneNumber       string
	PreferredUsername string
	Limit             int
	Offset            int
}

// UserPage is one page of users and the total matching the query.
type UserPage struct {
	Total    int            `json:"total"`
	BySource map[string]int `json:"by_source,omitempty"`
	Users    []TargetUser   `json:"users"`
}

// TargetUser is a user as the target stores it (no secrets).
type TargetUser struct {
	ID                string    `json:"id"`
	Email             string    `json:"email,omitempty"`
	PhoneNumber       string    `json:"phone_number,omitempty"`
	PreferredUsername string    `json:"preferred_username,omitempty"`
	Source            string    `json:"source,omitempty"` // import | lazy | signup
	CreatedAt         time.Time `json:"created_at"`
	HasPassword       bool      `json:"has_password"`
}

// MockClient is a Client for the bundled mock IdP, which adds user lookup and deletion.
type MockClient struct {
	*Client
}

// Targets with optional capabilities, checked at compile time.
var (
	_ Finder  = (*MockClient)(nil)
	_ Deleter = (*MockClient)(nil)
)

// FindUsers lists users matching q.
func (c *MockClient) FindUsers(ctx context.Context, q Query) (*UserPage, error) {
	v := url.Values{}
	if q.Email != "" {
		v.Set("email", q.Email)
	}
	if q.PhoneNumber != "" {
		v.Set("phone_number", q.PhoneNumber)
	}
	if q.PreferredUsername != "" {
		v.Set("preferred_username", q.PreferredUsername)
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	if q.Offset > 0 {
		v.Set("offset", strconv.Itoa(q.Offset))
	}
	path := PathMockUsers
	if len(v) > 0 {
		path += "?" + v.Encode()
	}
	var p UserPage
	if err := c.callRaw(ctx, http.MethodGet, path, nil, &p); err != nil {
		return nil, fmt.Errorf("find users: %w", err)
	}
	return &p, nil
}

// DeleteUsers deletes users by id and returns how many were deleted.
func (c *MockClient) DeleteUsers(ctx context.Context, ids []string) (int, error) {
	body, err := json.Marshal(map[string][]string{"ids": ids})
	if err != nil {
		return 0, fmt.Errorf("delete users: %w", err)
	}
	var out struct {
		Deleted int `json:"deleted"`
	}
	if err := c.callRaw(ctx, http.MethodPost, PathMockDelete, body, &out); err != nil {
		return 0, fmt.Errorf("delete users: %w", err)
	}
	return out.Deleted, nil
}

// callRaw is call for a path that may carry a query string.
func (c *Client) callRaw(ctx context.Context, method, pathAndQuery string, body []byte, out any) error {
	status, data, err := c.do(ctx, method, pathAndQuery, body)
	if err != nil {
		return err
	}
	return decodeResult(status, data, out)
}
