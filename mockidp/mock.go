package mockidp

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"
)

// MockUser is one user as the mock-only listing shows it. Password hashes are never shown.
type MockUser struct {
	ID                string          `json:"id"`
	Email             string          `json:"email,omitempty"`
	PhoneNumber       string          `json:"phone_number,omitempty"`
	PreferredUsername string          `json:"preferred_username,omitempty"`
	Source            string          `json:"source"`
	CreatedAt         time.Time       `json:"created_at"`
	HasPassword       bool            `json:"has_password"`
	PasswordFormat    string          `json:"password_format,omitempty"`
	Disabled          bool            `json:"disabled"`
	UserInfo          json.RawMessage `json:"user_info,omitempty"`
}

// MockUserList is the result of GET /_mock/users.
type MockUserList struct {
	Total    int            `json:"total"`
	BySource map[string]int `json:"by_source"`
	Users    []MockUser     `json:"users"`
}

// maxListLimit caps one page of the mock listing.
const maxListLimit = 10_000

func (s *Server) handleMockList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := userFilter{Email: q.Get("email"), Phone: q.Get("phone_number"), Username: q.Get("preferred_username"), Limit: 100}
	for name, dst := range map[string]*int{"limit": &f.Limit, "offset": &f.Offset} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				writeAPIError(w, apiErr(http.StatusBadRequest, "Invalid", "InvalidQuery", name+" must be a non-negative integer"))
				return
			}
			*dst = n
		}
	}
	f.Limit = min(f.Limit, maxListLimit)
	users, bySource, err := s.store.list(r.Context(), f)
	if err != nil {
		s.log.Error("list users", "err", err)
		writeAPIError(w, apiErr(http.StatusInternalServerError, "InternalError", "UnexpectedError", "cannot list users"))
		return
	}
	out := MockUserList{BySource: bySource, Users: make([]MockUser, 0, len(users))}
	for _, n := range bySource {
		out.Total += n
	}
	for _, u := range users {
		out.Users = append(out.Users, MockUser{ID: u.ID, Email: u.Email, PhoneNumber: u.Phone, PreferredUsername: u.Username,
			Source: u.Source, CreatedAt: u.CreatedAt, HasPassword: u.PasswordHash != "", PasswordFormat: u.PasswordFormat,
			Disabled: u.Disabled, UserInfo: u.UserInfo})
	}
	writeResult(w, http.StatusOK, out)
}

func (s *Server) handleMockDelete(w http.ResponseWriter, r *http.Request) {
	var body struct {
		IDs []string `json:"ids"`
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 16<<20))
	if err == nil {
		err = json.Unmarshal(data, &body)
	}
	if err != nil {
		writeAPIError(w, apiErr(http.StatusBadRequest, "Invalid", "InvalidBody", `body must be {"ids": ["<user id>", ...]}`))
		return
	}
	n, err := s.store.deleteIDs(r.Context(), body.IDs)
	if err != nil {
		s.log.Error("delete users", "err", err)
		writeAPIError(w, apiErr(http.StatusInternalServerError, "InternalError", "UnexpectedError", "cannot delete users"))
		return
	}
	writeResult(w, http.StatusOK, map[string]int{"deleted": n})
}

func (s *Server) handleMockDeleteAll(w http.ResponseWriter, r *http.Request) {
	n, err := s.store.deleteAll(r.Context())
	if err != nil {
		s.log.Error("delete all users", "err", err)
		writeAPIError(w, apiErr(http.StatusInternalServerError, "InternalError", "UnexpectedError", "cannot delete users"))
		return
	}
	writeResult(w, http.StatusOK, map[string]int{"deleted": n})
}

func (s *Server) handleMockOTP(w http.ResponseWriter, r *http.Request) {
	u, err := s.store.byID(r.Context(), r.PathValue("id"))
	if errors.Is(err, errNoUser) {
		writeAPIError(w, apiErr(http.StatusNotFound, "NotFound", "UserNotFound", "no user with id "+r.PathValue("id")))
		return
	}
	if err != nil {
		writeAPIError(w, apiErr(http.StatusInternalServerError, "InternalError", "UnexpectedError", "cannot look the user up"))
		return
	}
	writeResult(w, http.StatusOK, s.issueOTP(u.ID))
}
