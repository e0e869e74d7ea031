package conformance

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/cutover/cutover/strategies/idp"
)

// Hashes of the corpus, made once with golang.org/x/crypto/bcrypt (cost 4) so a
// re-recording sends the same bytes. The passwords are "conformance-pass-1" and "-2".
const (
	hashGood       = "$2a$04$C.zRa0xc77LuEJsVK0vj/e6fl0XZEEQajFcegJqXYOAejrV5fS/ly"
	hashGood2      = "$2a$04$2KeVufEQT4O8FeSxdK9eFeNXWehSu3gopB/zxTmeGkCeRXdZd/z2C"
	hashSHA512     = "$bcrypt-sha512$$2a$04$CAFwnaMIlbgWkCxZdAn7qeaAB5dZdH2clQvuUSZxFtwflVYUn65Ha"
	hashShort      = "$2a$04$C.zRa0xc77LuEJsVK0vj"
	hashNoDollar   = "2a$04$C.zRa0xc77LuEJsVK0vj/e6fl0XZEEQajFcegJqXYOAejrV5fS/ly"
	hashTooLong    = "$2a$04$C.zRa0xc77LuEJsVK0vj/e6fl0XZEEQajFcegJqXYOAejrV5fS/lyX"
	hash2b         = "$2b$04$C.zRa0xc77LuEJsVK0vj/e6fl0XZEEQajFcegJqXYOAejrV5fS/ly"
	hashUnknownFmt = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
)

// email is a corpus address unique to one recording: {{run}} is the recording's nonce.
func email(local string) string { return local + "-{{run}}@example.com" }

// imp is an import request of raw JSON records, waited for.
func imp(upsert bool, identifier string, records ...string) Request {
	body := fmt.Sprintf(`{"upsert":%t,"identifier":%q,"records":[%s]}`, upsert, identifier, strings.Join(records, ","))
	return Request{Method: http.MethodPost, Path: idp.PathImport, Body: json.RawMessage(body), Wait: true}
}

// raw is a POST to the import API with this exact body, not waited for.
func raw(body string) Request {
	return Request{Method: http.MethodPost, Path: idp.PathImport, Body: json.RawMessage(body)}
}

// rec is an email record with extra members (raw JSON, without braces).
func rec(local string, extra ...string) string {
	parts := append([]string{fmt.Sprintf(`"email":%q`, email(local))}, extra...)
	return "{" + strings.Join(parts, ",") + "}"
}

func pw(hash string) string {
	return fmt.Sprintf(`"password":{"type":"bcrypt","password_hash":%q}`, hash)
}

// The GraphQL operations exactly as strategies/idp sends them.
const (
	gqlLookup = `query cutoverLookup($key: String!, $value: String!) {
  getUserByLoginID(loginIDKey: $key, loginIDValue: $value) { id createdAt standardAttributes }
}`
	gqlDelete = `mutation cutoverDelete($id: ID!) {
  deleteUser(input: {userID: $id}) { deletedUserID }
}`
)

func gql(query string, vars map[string]string) Request {
	b, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	return Request{Method: http.MethodPost, Path: idp.PathAdminGraphQL, Body: b}
}

func lookupReq(key, value string) Request {
	return gql(gqlLookup, map[string]string{"key": key, "value": value})
}

func deleteReq(node string) Request { return gql(gqlDelete, map[string]string{"id": node}) }

func steps(rs ...Request) []Step {
	s := make([]Step, len(rs))
	for i, r := range rs {
		s[i] = Step{Request: r}
	}
	return s
}

func with(r Request, f func(*Request)) Request { f(&r); return r }

// Cases is the corpus: what to send. Recording fills in the answers.
func Cases() []Case {
	good := imp(false, "email", rec("auth"))
	good.Wait = false
	authCase := func(name, kind string) Case {
		return Case{Name: "auth/" + name, About: "Admin API token: " + kind,
			Steps: steps(with(good, func(r *Request) { r.Auth = kind }))}
	}
	cs := []Case{
		authCase("good", AuthGood),
		authCase("missing", AuthNone),
		authCase("lowercase-bearer", AuthLowerBearer),
		authCase("uppercase-bearer", AuthUpperBearer),
		authCase("empty-bearer", AuthEmpty),
		authCase("basic", AuthBasic),
		authCase("garbage", AuthGarbage),
		authCase("aud-string", AuthAudString),
		authCase("no-exp", AuthNoExp),
		authCase("wrong-aud", AuthWrongAud),
		authCase("expired", AuthExpired),
		authCase("wrong-key", AuthWrongKey),
		authCase("no-kid", AuthNoKid),
		{Name: "auth/graphql-missing", Steps: steps(with(lookupReq("email", "nobody@example.com"), func(r *Request) { r.Auth = AuthNone }))},
		{Name: "auth/job-missing", Steps: steps(Request{Method: http.MethodGet, Path: idp.PathImport + "/userimport_NOSUCHJOB", Auth: AuthNone})},

		{Name: "body/malformed-json", Steps: steps(Request{Method: http.MethodPost, Path: idp.PathImport, Text: `{"identifier":"email","records":[`})},
		{Name: "body/not-json-at-all", Steps: steps(Request{Method: http.MethodPost, Path: idp.PathImport, Text: `identifier=email`})},
		{Name: "body/empty", Steps: steps(Request{Method: http.MethodPost, Path: idp.PathImport})},
		{Name: "body/text-plain", Steps: steps(with(raw(`{"identifier":"email","records":[{"email":"ct@example.com"}]}`), func(r *Request) { r.ContentType = "text/plain" }))},
		{Name: "body/form-urlencoded", Steps: steps(with(raw(`{"identifier":"email","records":[{"email":"ct@example.com"}]}`), func(r *Request) { r.ContentType = "application/x-www-form-urlencoded" }))},
		{Name: "body/json-charset", About: "application/json; charset=utf-8 is accepted", Steps: steps(with(imp(false, "email", rec("charset")), func(r *Request) { r.ContentType = "application/json; charset=utf-8" }))},
		{Name: "body/oversize", Steps: steps(Request{Method: http.MethodPost, Path: idp.PathImport, Oversize: 600_000})},
		{Name: "body/just-under-limit", About: "a body of 499,000 bytes is read", Steps: steps(Request{Method: http.MethodPost, Path: idp.PathImport, Oversize: 499_000})},
		{Name: "body/array", Steps: steps(raw(`[]`))},
		{Name: "body/null", Steps: steps(raw(`null`))},
		{Name: "body/no-identifier", Steps: steps(raw(`{"records":[{"email":"x@example.com"}]}`))},
		{Name: "body/bad-identifier", Steps: steps(raw(`{"identifier":"username","records":[{"email":"x@example.com"}]}`))},
		{Name: "body/identifier-number", Steps: steps(raw(`{"identifier":5,"records":[{"email":"x@example.com"}]}`))},
		{Name: "body/no-records", Steps: steps(raw(`{"identifier":"email"}`))},
		{Name: "body/empty-records", Steps: steps(raw(`{"identifier":"email","records":[]}`))},
		{Name: "body/records-object", Steps: steps(raw(`{"identifier":"email","records":{"email":"x@example.com"}}`))},
		{Name: "body/upsert-string", Steps: steps(raw(`{"upsert":"yes","identifier":"email","records":[{"email":"x@example.com"}]}`))},
		{Name: "body/unknown-top-key", Steps: steps(raw(`{"identifier":"email","records":[{"email":"x@example.com"}],"dry_run":true}`))},
		{Name: "body/capitalised-key", Steps: steps(raw(`{"identifier":"email","Records":[{"email":"x@example.com"}]}`))},
		{Name: "body/non-object-record", About: "one record that is not an object fails the whole request",
			Steps: steps(raw(`{"identifier":"email","records":[{"email":"x@example.com"},7]}`))},
		{Name: "body/null-record", Steps: steps(raw(`{"identifier":"email","records":[null]}`))},
		{Name: "body/array-record", Steps: steps(raw(`{"identifier":"email","records":[["x@example.com"]]}`))},

		{Name: "job/unknown-id", Steps: steps(Request{Method: http.MethodGet, Path: idp.PathImport + "/userimport_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"})},
		{Name: "job/garbage-id", Steps: steps(Request{Method: http.MethodGet, Path: idp.PathImport + "/nope"})},
		{Name: "job/poll", About: "the job a POST started, polled again by id",
			Steps: steps(imp(false, "email", rec("poll")), Request{Method: http.MethodGet, Path: idp.PathImport + "/{{job}}"})},
	}
	cs = append(cs, recordCases()...)
	cs = append(cs, flowCases()...)
	cs = append(cs, graphqlCases()...)
	return cs
}

// recordCases are per-record validation: every key with the wrong type, unknown keys,
// bad hashes. Each record is alone in its job so one index is one question.
func recordCases() []Case {
	var cs []Case
	for _, b := range badRecords() {
		cs = append(cs, Case{Name: "record/" + b.name, Steps: steps(imp(false, "email", b.record))})
	}
	for _, g := range goodRecords() {
		cs = append(cs, Case{Name: "record/" + g.name, Steps: steps(imp(false, "email", g.record))})
	}
	return append(cs, identifierCases()...)
}

// badRecords are one record each that Authgear refuses: every key with a wrong type or
// value, and the bcrypt hashes it cannot take.
func badRecords() []namedRecord {
	return []namedRecord{
		{"email-missing", `{"name":"No Email"}`},
		{"email-null", `{"email":null}`},
		{"email-number", `{"email":5}`},
		{"email-invalid", `{"email":"not-an-email"}`},
		{"email-empty", `{"email":""}`},
		{"unknown-key", rec("unknown", `"nickname2":"x"`)},
		{"two-unknown-keys", rec("unknown2", `"foo":1,"bar":2`)},
		{"disabled-string", rec("k1", `"disabled":"yes"`)},
		{"disabled-null", rec("k1n", `"disabled":null`)},
		{"account-valid-from-bad", rec("k2", `"account_valid_from":"yesterday"`)},
		{"account-valid-until-number", rec("k3", `"account_valid_until":5`)},
		{"email-verified-string", rec("k4", `"email_verified":"true"`)},
		{"phone-verified-number", rec("k5", `"phone_number_verified":1`)},
		{"name-number", rec("k6", `"name":5`)},
		{"given-name-bool", rec("k7", `"given_name":true`)},
		{"family-name-array", rec("k8", `"family_name":["x"]`)},
		{"middle-name-number", rec("k9", `"middle_name":1`)},
		{"nickname-object", rec("k10", `"nickname":{}`)},
		{"profile-not-url", rec("k11", `"profile":"not a url"`)},
		{"picture-number", rec("k12", `"picture":5`)},
		{"website-not-url", rec("k13", `"website":"example"`)},
		{"gender-number", rec("k14", `"gender":5`)},
		{"birthdate-bad", rec("k15", `"birthdate":"31/12/1990"`)},
		{"zoneinfo-bad", rec("k16", `"zoneinfo":"Mars/Olympus"`)},
		{"locale-bad", rec("k17", `"locale":5`)},
		{"address-string", rec("k18", `"address":"1 Main St"`)},
		{"address-unknown-key", rec("k18b", `"address":{"planet":"Mars"}`)},
		{"custom-attributes-array", rec("k19", `"custom_attributes":[]`)},
		{"roles-string", rec("k20", `"roles":"admin"`)},
		{"roles-empty-item", rec("k21", `"roles":[""]`)},
		{"roles-number-item", rec("k22", `"roles":[5]`)},
		{"groups-string", rec("k23", `"groups":"staff"`)},
		{"phone-invalid", rec("k24", `"phone_number":"12345"`)},
		{"phone-not-e164", rec("k24b", `"phone_number":"98765432"`)},
		{"username-number", rec("k25", `"preferred_username":5`)},
		{"password-string", rec("k26", `"password":"secret"`)},
		{"password-null", rec("k26n", `"password":null`)},
		{"password-empty-object", rec("k27", `"password":{}`)},
		{"password-no-hash", rec("k28", `"password":{"type":"bcrypt"}`)},
		{"password-empty-hash", rec("k29", `"password":{"type":"bcrypt","password_hash":""}`)},
		{"password-type-md5", rec("k30", `"password":{"type":"md5","password_hash":"5f4dcc3b5aa765d61d8327deb882cf99"}`)},
		{"password-salt-key", rec("k31", `"password":{"type":"bcrypt","password_hash":"`+hashGood+`","salt":"x"}`)},
		{"password-expire-after-bad", rec("k32", `"password":{"type":"bcrypt","password_hash":"`+hashGood+`","expire_after":"soon"}`)},
		{"mfa-string", rec("k33", `"mfa":"x"`)},
		{"mfa-unknown-key", rec("k34", `"mfa":{"webauthn":{}}`)},
		{"mfa-email-bad", rec("k35", `"mfa":{"email":"nope"}`)},
		{"mfa-phone-bad", rec("k36", `"mfa":{"phone_number":"123"}`)},
		{"mfa-password-string", rec("k37", `"mfa":{"password":"x"}`)},
		{"mfa-totp-no-secret", rec("k38", `"mfa":{"totp":{}}`)},
		{"mfa-totp-empty-secret", rec("k39", `"mfa":{"totp":{"secret":""}}`)},
		{"mfa-password-and-totp-bad", rec("k40", `"mfa":{"password":{"type":"bcrypt"},"totp":"x"}`)},

		{"bcrypt-short", rec("h1", pw(hashShort))},
		{"bcrypt-no-dollar", rec("h2", pw(hashNoDollar))},
		{"bcrypt-61-chars", rec("h3", pw(hashTooLong))},
		{"bcrypt-argon2-as-bcrypt", rec("h4", pw(hashUnknownFmt))},
	}
}

// goodRecords are one record each that Authgear imports, with the warnings and the
// redaction its echo shows.
func goodRecords() []namedRecord {
	return []namedRecord{
		{"bcrypt-good", rec("g1", pw(hashGood))},
		{"bcrypt-2b", rec("g2", pw(hash2b))},
		{"bcrypt-sha512", rec("g3", pw(hashSHA512))},
		{"all-standard-attributes", rec("g4", `"name":"Ann Lee"`, `"given_name":"Ann"`, `"family_name":"Lee"`, `"middle_name":"M"`,
			`"nickname":"annie"`, `"profile":"https://example.com/ann"`, `"picture":"https://example.com/ann.png"`,
			`"website":"https://example.com"`, `"gender":"female"`, `"birthdate":"1990-12-31"`, `"zoneinfo":"Europe/London"`,
			`"locale":"en-GB"`, `"address":{"street_address":"1 Main St","locality":"Leeds","country":"GB"}`,
			`"email_verified":true`, `"phone_number":"+447700900123"`, `"phone_number_verified":false`,
			`"preferred_username":"ann-{{run}}"`, `"account_valid_from":"2020-01-01T00:00:00Z"`, `"account_valid_until":"2099-01-01T00:00:00Z"`)},
		{"nulls", rec("g5", `"name":null`, `"phone_number":null`, `"preferred_username":null`, `"address":null`)},
		{"unsorted-keys", `{"name":"Zed","email":"` + email("g6") + `","email_verified":true,"birthdate":"1980-01-02"}`},
		{"disabled", rec("g7", `"disabled":true`, pw(hashGood))},
		{"no-password", rec("g8")},
		{"roles-and-groups", rec("g9", `"roles":["admin"]`, `"groups":["staff"]`)},
		{"empty-roles", rec("g10", `"roles":[]`, `"groups":[]`)},
		{"custom-attributes", rec("g11", `"custom_attributes":{"plan":"gold"}`)},
		{"custom-attributes-empty", rec("g12", `"custom_attributes":{}`)},
		{"mfa-everything", rec("g13", pw(hashGood), `"mfa":{"email":"`+email("g13mfa")+`","phone_number":"+447700900124","password":{"type":"bcrypt","password_hash":"`+hashGood2+`"},"totp":{"secret":"JBSWY3DPEHPK3PXP"}}`)},
		{"mfa-nulls", rec("g14", `"mfa":{"email":null,"phone_number":null}`)},
		{"password-expire-after", rec("g15", `"password":{"type":"bcrypt","password_hash":"`+hashGood+`","expire_after":"2099-01-01T00:00:00Z"}`)},
	}
}

// namedRecord is one record of the corpus and the name of its case.
type namedRecord struct{ name, record string }

// identifierCases import by phone number and by username, which a default project does
// not allow as login ids, and mix good and bad records in one job.
func identifierCases() []Case {
	return []Case{
		{Name: "record/phone-identifier", Steps: steps(imp(false, "phone_number",
			`{"phone_number":"+447700900200","email":"`+email("p1")+`"}`,
			`{"email":"`+email("p2")+`"}`,
			`{"phone_number":"07700900201"}`))},
		{Name: "record/username-identifier", Steps: steps(imp(false, "preferred_username",
			`{"preferred_username":"user-{{run}}"}`,
			`{"preferred_username":"User Name {{run}}"}`,
			`{"email":"`+email("u2")+`"}`,
			`{"preferred_username":""}`))},
		{Name: "record/mixed-batch", About: "good and bad records in one job, outcomes by index",
			Steps: steps(imp(false, "email", rec("m1", pw(hashGood)), `{"email":5}`, rec("m2", pw(hashShort)), rec("m3")))},
	}
}

// flowCases are outcomes over more than one request: insert, skip, update, upsert with a
// password, case-differing duplicates, duplicates in one job.
func flowCases() []Case {
	return []Case{
		{Name: "flow/insert-skip-update", Steps: steps(
			imp(false, "email", rec("alice", pw(hashGood), `"name":"Alice"`)),
			imp(false, "email", rec("alice", pw(hashGood), `"name":"Alice"`)),
			imp(true, "email", rec("alice", `"name":"Alice Two"`)),
			imp(true, "email", rec("alice", pw(hashGood2))),
			imp(false, "email", rec("alice", pw(hashGood2))),
		)},
		{Name: "flow/upsert-insert", About: "upsert true on a new user inserts", Steps: steps(
			imp(true, "email", rec("upsertnew", pw(hashGood))),
		)},
		{Name: "flow/mixed-case", About: "an email differing only in case from an existing user's", Steps: steps(
			imp(false, "email", `{"email":"`+email("bob")+`"}`),
			imp(false, "email", `{"email":"Bob-{{run}}@example.com"}`),
			imp(true, "email", `{"email":"Bob-{{run}}@example.com"}`),
			imp(false, "email", `{"email":"BOB-{{run}}@EXAMPLE.COM"}`),
		)},
		{Name: "flow/mixed-case-first", About: "a mixed-case email imported first", Steps: steps(
			imp(false, "email", `{"email":"Carol-{{run}}@Example.com"}`),
			imp(false, "email", `{"email":"carol-{{run}}@example.com"}`),
		)},
		{Name: "flow/duplicate-in-job", Steps: steps(
			imp(false, "email", rec("dup"), rec("dup")),
		)},
		{Name: "flow/duplicate-in-job-upsert", Steps: steps(
			imp(true, "email", rec("dupu", `"name":"One"`), rec("dupu", `"name":"Two"`)),
		)},
		{Name: "flow/disable-by-upsert", Steps: steps(
			imp(false, "email", rec("dis", pw(hashGood))),
			imp(true, "email", rec("dis", `"disabled":true`)),
		)},
	}
}

// graphqlCases are the Admin GraphQL operations cutover uses.
func graphqlCases() []Case {
	capture := func(r Request, name string) Request {
		r.Capture = map[string]string{name: "result.details.0.user_id"}
		return r
	}
	return []Case{
		{Name: "graphql/lookup-and-delete", Steps: steps(
			capture(imp(false, "email", rec("gone", `"name":"Gone Soon"`)), "gone"),
			lookupReq("email", email("gone")),
			lookupReq("email", "GONE-{{run}}@EXAMPLE.COM"),
			lookupReq("phone", "+447700900300"),
			lookupReq("username", "gone-{{run}}"),
			deleteReq("{{gone_node}}"),
			lookupReq("email", email("gone")),
			deleteReq("{{gone_node}}"),
		)},
		{Name: "graphql/lookup-nobody", Steps: steps(lookupReq("email", email("nobody")))},
		{Name: "graphql/lookup-unknown-key", Steps: steps(lookupReq("nickname", "x"))},
		{Name: "graphql/delete-garbage-id", Steps: steps(deleteReq("not-a-node-id"))},
		{Name: "graphql/delete-unknown-user", Steps: steps(deleteReq("VXNlcjowMDAwMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDA"))},
	}
}
