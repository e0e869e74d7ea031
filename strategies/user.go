package strategies

// User is the canonical legacy user every source row is mapped to before it is
// validated and sent to a target. Optional booleans are pointers: nil means "not mapped".
type User struct {
	Row  int // 1-based record number in the source (header excluded)
	Line int // physical line where the record starts (file sources), else 0

	LegacyID string
	Email    string // as in the source, trimmed (bulk lower-cases it to send)
	// LegacyEmail is the email as the source wrote it when bulk lower-cased Email to
	// send it (Alice@Example.com): kept for the outcome log, never sent.
	LegacyEmail         string
	EmailVerified       *bool
	PhoneNumber         string // E.164 after normalisation
	PhoneNumberVerified *bool
	PreferredUsername   string

	Name       string
	GivenName  string
	FamilyName string
	MiddleName string
	Nickname   string
	Profile    string
	Picture    string
	Website    string
	Gender     string
	Birthdate  string
	Zoneinfo   string
	Locale     string
	Address    *Address

	Roles    []string
	Groups   []string
	Disabled bool

	PasswordHash   string
	PasswordSalt   string
	PasswordFormat string // the plan's format, or the detected one when the plan says auto

	CustomAttributes map[string]any

	// Warnings are problems with optional fields that were dropped so that the user
	// still moves (a phone number the target would refuse...): each names the field,
	// the code and the fix. Empty when mapping.strict_profile makes them row errors.
	Warnings []*Error
}

// Address is the OIDC address claim.
type Address struct {
	Formatted     string `json:"formatted,omitempty"`
	StreetAddress string `json:"street_address,omitempty"`
	Locality      string `json:"locality,omitempty"`
	Region        string `json:"region,omitempty"`
	PostalCode    string `json:"postal_code,omitempty"`
	Country       string `json:"country,omitempty"`
}

// Outcome is what became of one input row.
type Outcome string

// Outcomes; every input row ends in exactly one of them.
const (
	OutcomeInserted Outcome = "inserted"
	OutcomeUpdated  Outcome = "updated"
	OutcomeSkipped  Outcome = "skipped"
	OutcomeFailed   Outcome = "failed"
	OutcomeInvalid  Outcome = "invalid"
)
