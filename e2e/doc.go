// Package e2e rehearses cutover end to end: the built cutover binary and real PostgreSQL
// and MariaDB servers run in containers on a private Docker network (dockertest), and the
// tests check what a user relies on. It holds tests only; `go test -short` skips the
// Docker part, and with CI=true a missing Docker engine is a failure, never a skip.
// See images for how the database images are found or built without a registry.
package e2e
