package mockidp

import (
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// APIError is Authgear's error object, the "error" member of the response envelope.
type APIError struct {
	Name    string `json:"name"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
	Code    int    `json:"code"`
	// TrackingID is set on top-level errors, as Authgear sets its trace and span id
	// there (32 and 16 hex digits); per-record errors carry none.
	TrackingID string         `json:"tracking_id,omitempty"`
	Info       map[string]any `json:"info,omitempty"`
}

// Error implements error.
func (e *APIError) Error() string { return e.Name + " (" + e.Reason + "): " + e.Message }

func apiErr(code int, name, reason, msg string) *APIError {
	return &APIError{Name: name, Reason: reason, Message: msg, Code: code}
}

// writeResult writes {"result": v}.
func writeResult(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Result any `json:"result"`
	}{v})
}

// writeRawResult writes {"result": <raw>} without re-encoding raw.
func writeRawResult(w http.ResponseWriter, raw []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(raw)+len(`{"result":}`)+1))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(`{"result":`))
	_, _ = w.Write(raw)
	_, _ = w.Write([]byte("}\n"))
}

// writeAPIError writes {"error": e} with HTTP status e.Code.
func writeAPIError(w http.ResponseWriter, e *APIError) {
	if e.TrackingID == "" {
		e.TrackingID = trackingID()
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Code)
	_ = json.NewEncoder(w).Encode(struct {
		Error *APIError `json:"error"`
	}{e})
}

// trackingID returns an id shaped as Authgear's: an OpenTelemetry trace id and span id.
func trackingID() string {
	var b [24]byte
	_, _ = crand.Read(b[:])
	return hex.EncodeToString(b[:16]) + "-" + hex.EncodeToString(b[16:])
}

// adminLeeway is the clock skew allowed on exp, iat and nbf.
const adminLeeway = 60 * time.Second

// requireAdmin checks the Admin API JWT; anything wrong is a plain-text 403, as Authgear does.
func (s *Server) requireAdmin(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := s.checkAdminToken(r.Header.Get("Authorization")); err != nil {
			s.log.Debug("admin token refused", "path", r.URL.Path, "reason", err.Error())
			http.Error(w, "Forbidden", http.StatusForbidden)
			return
		}
		next(w, r)
	}
}

func (s *Server) checkAdminToken(header string) error {
	// Authgear takes the scheme in this exact case only ("bearer" is refused).
	raw, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || raw == "" {
		return errors.New("no bearer token")
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return err
	}
	if len(tok.Headers) != 1 || tok.Headers[0].KeyID == "" {
		return errors.New("missing kid")
	}
	if tok.Headers[0].KeyID != s.admin.keyID {
		return errors.New("unknown kid")
	}
	var c jwt.Claims
	if err := tok.Claims(&s.admin.key.PublicKey, &c); err != nil {
		return err
	}
	// exp and iat are checked when present and not required, and aud may be a string:
	// the real Authgear accepts such tokens (observed), so the mock does too, and sets no
	// cap on a token's lifetime that production would not set.
	return c.ValidateWithLeeway(jwt.Expected{AnyAudience: jwt.Audience{s.admin.project}, Time: s.now()}, adminLeeway)
}

func (f Faults) validate() error {
	for name, v := range map[string]float64{"error rate": f.ErrorRate, "drop rate": f.DropRate, "lost rate": f.LostRate} {
		if v < 0 || v > 1 || math.IsNaN(v) {
			return errors.New("fault " + name + " must be between 0 and 1")
		}
	}
	if f.RateLimit < 0 || math.IsNaN(f.RateLimit) {
		return errors.New("fault rate limit must be zero (none) or positive")
	}
	if f.Latency < 0 {
		return errors.New("fault latency must not be negative")
	}
	return nil
}

// faultInjector applies Faults to admin API requests.
type faultInjector struct {
	f   Faults
	now func() time.Time

	mu     sync.Mutex
	rnd    *rand.Rand
	tokens float64
	last   time.Time
}

func newFaultInjector(f Faults, seed uint64, now func() time.Time) *faultInjector {
	if seed == 0 {
		seed = rand.Uint64()
	}
	return &faultInjector{f: f, now: now, rnd: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), tokens: math.Max(1, f.RateLimit)}
}

func (fi *faultInjector) chance(p float64) bool {
	if p <= 0 {
		return false
	}
	fi.mu.Lock()
	defer fi.mu.Unlock()
	return fi.rnd.Float64() < p
}

// allow takes a token from the bucket, or says how long until one is available.
func (fi *faultInjector) allow() (bool, time.Duration) {
	if fi.f.RateLimit <= 0 {
		return true, 0
	}
	fi.mu.Lock()
	defer fi.mu.Unlock()
	now := fi.now()
	burst := math.Max(1, fi.f.RateLimit)
	if !fi.last.IsZero() {
		fi.tokens = math.Min(burst, fi.tokens+now.Sub(fi.last).Seconds()*fi.f.RateLimit)
	}
	fi.last = now
	if fi.tokens >= 1 {
		fi.tokens--
		return true, 0
	}
	wait := time.Duration((1 - fi.tokens) / fi.f.RateLimit * float64(time.Second))
	return false, wait
}

var faultStatuses = [...]struct {
	code         int
	name, reason string
}{
	{http.StatusInternalServerError, "InternalError", "UnexpectedError"},
	{http.StatusBadGateway, "BadGateway", "BadGateway"},
	{http.StatusServiceUnavailable, "ServiceUnavailable", "ServiceUnavailable"},
}

// discardResponse is a ResponseWriter that throws the answer away.
type discardResponse struct{ h http.Header }

func (d *discardResponse) Header() http.Header         { return d.h }
func (d *discardResponse) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardResponse) WriteHeader(int)             {}

// wrap applies, in order: latency, dropped connection, rate limit, and (on import calls)
// errors and lost answers.
func (fi *faultInjector) wrap(next http.Handler, s *Server) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fi.f.Latency > 0 {
			t := time.NewTimer(fi.f.Latency)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if fi.chance(fi.f.DropRate) {
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					s.log.Debug("fault: dropping connection", "path", r.URL.Path)
					_ = conn.Close()
					return
				}
			}
		}
		if ok, wait := fi.allow(); !ok {
			secs := int(math.Ceil(wait.Seconds()))
			w.Header().Set("Retry-After", strconv.Itoa(max(1, secs)))
			writeAPIError(w, apiErr(http.StatusTooManyRequests, "TooManyRequest", "RateLimited", "request rate limit exceeded (mock IdP fault injection); retry after the Retry-After delay"))
			return
		}
		if strings.HasPrefix(r.URL.Path, PathImport) && fi.chance(fi.f.ErrorRate) {
			fi.mu.Lock()
			st := faultStatuses[fi.rnd.IntN(len(faultStatuses))]
			fi.mu.Unlock()
			writeAPIError(w, apiErr(st.code, st.name, st.reason, "injected failure (mock IdP fault injection); retry the request"))
			return
		}
		if r.Method == http.MethodPost && r.URL.Path == PathImport && fi.chance(fi.f.LostRate) {
			if hj, ok := w.(http.Hijacker); ok {
				next.ServeHTTP(&discardResponse{h: http.Header{}}, r) // the job is created...
				if conn, _, err := hj.Hijack(); err == nil {
					s.log.Debug("fault: losing the answer of an import", "path", r.URL.Path)
					_ = conn.Close() // ...and its answer lost
				}
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// requireContentType refuses what checkContentType refuses, with a plain-text 415.
func requireContentType(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if msg := checkContentType(r); msg != "" {
			http.Error(w, msg, http.StatusUnsupportedMediaType)
			return
		}
		next(w, r)
	}
}

// checkContentType answers as Authgear's admin routes do before any handler: a request
// with a body must be application/json or application/graphql, with charset utf-8 if
// any. It returns the plain-text refusal, or "" to go on.
func checkContentType(r *http.Request) string {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return ""
	}
	raw := r.Header.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(raw)
	if err != nil {
		return "invalid content type: " + raw
	}
	if mt != "application/json" && mt != "application/graphql" {
		return "invalid content type: " + mt
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return "invalid content type: " + mt
	}
	return ""
}
