package strategies

// AuthOnlyOptions are the plan's `authonly:` options.
type AuthOnlyOptions struct {
	IDColumn    string `yaml:"id_column,omitempty"`    // legacy column receiving the IdP user id (default idp_user_id)
	MappingFile string `yaml:"mapping_file,omitempty"` // file sources: where legacy id -> IdP id is written
	BatchSize   int    `yaml:"batch_size,omitempty"`   // rows per write-back transaction (default 1000)
}

func (o *AuthOnlyOptions) validate(bad badFunc) error {
	if o.BatchSize < 0 {
		return bad("authonly.batch_size", "must not be negative")
	}
	return nil
}

// IdentifiersOnly returns a copy of the plan that moves identifiers and profile
// without any password field: what an authonly run imports, and so what its preview
// and checks must look at. It lives here, not in authonly, so preflight can use it
// without importing a strategy (bulk imports preflight, authonly imports bulk).
func (p *Plan) IdentifiersOnly() *Plan {
	ip := *p
	ip.Mapping.PasswordHash = FieldRef{}
	ip.Mapping.PasswordSalt = FieldRef{}
	ip.Mapping.PasswordFormat = ""
	ip.Mapping.PasswordKey = ""
	ip.Bulk.UnsupportedHash = ""
	return &ip
}
