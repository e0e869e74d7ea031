package strategies

import "context"

// SignInResult is what a target said when a user signed in with a password, the way
// the user would at the login screen.
type SignInResult struct {
	// OK is true when the target accepted the password.
	OK bool `json:"ok"`
	// Subject is the target's id for the user when OK.
	Subject string `json:"subject,omitempty"`
	// Reason is the target's own reason when it refused, in a stable short form
	// (invalid_credentials, disabled, no_password, unknown_user, ...), followed where
	// useful by the target's wording, so a report can say why a user cannot sign in.
	Reason string `json:"reason,omitempty"`
}

// SignIner signs users in at a target with a password. The mock IdP's password
// grant, Authgear's Authentication Flow API and Kratos's self-service login API
// each implement it, so a rehearsal proves sign-ins the same way at any of them.
//
// A refusal is a result with OK false, never an error: an error means the sign-in
// could not be attempted (the target did not answer, or answered in a way the
// client does not understand).
type SignIner interface {
	SignIn(ctx context.Context, login, password string) (SignInResult, error)
}
