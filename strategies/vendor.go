package strategies

// VendorMapping returns the mapping of a vendor export's fields (auth0, firebase), and
// whether kind is such an export. A plan whose source is one and that maps no field
// uses it: the vendor's format is known, so nobody should have to write it out.
func VendorMapping(kind string) (Mapping, bool) {
	col := func(c string) FieldRef { return FieldRef{Column: c} }
	switch kind {
	case SourceAuth0:
		return Mapping{
			LegacyID:            col("user_id"),
			Email:               col("email"),
			EmailVerified:       col("email_verified"),
			PhoneNumber:         col("phone_number"),
			PhoneNumberVerified: col("phone_verified"),
			PreferredUsername:   col("username"),
			Name:                col("name"),
			GivenName:           col("given_name"),
			FamilyName:          col("family_name"),
			Nickname:            col("nickname"),
			Picture:             col("picture"),
			Disabled:            col("blocked"),
			// The source fills password_hash from custom_password_hash, row by row.
			PasswordHash:   col("password_hash"),
			PasswordSalt:   col("password_salt"),
			PasswordFormat: "auto",
		}, true
	case SourceFirebase:
		return Mapping{
			LegacyID:       col("localId"),
			Email:          col("email"),
			EmailVerified:  col("emailVerified"),
			PhoneNumber:    col("phoneNumber"),
			Name:           col("displayName"),
			Picture:        col("photoUrl"),
			Disabled:       col("disabled"),
			PasswordHash:   col("passwordHash"),
			PasswordSalt:   col("salt"),
			PasswordFormat: "firebase_scrypt",
		}, true
	}
	return Mapping{}, false
}

// applyVendorMapping gives a vendor export with no mapped field the vendor's mapping,
// keeping the options the plan did set (password_key, phone_region, strict_profile).
func (p *Plan) applyVendorMapping() {
	vm, ok := VendorMapping(p.Source.Kind)
	if !ok || len(p.Mapping.Fields()) > 0 {
		return
	}
	if p.Mapping.PasswordFormat != "" {
		vm.PasswordFormat = p.Mapping.PasswordFormat
	}
	vm.PasswordKey, vm.PhoneRegion, vm.StrictProfile = p.Mapping.PasswordKey, p.Mapping.PhoneRegion, p.Mapping.StrictProfile
	p.Mapping = vm
}
