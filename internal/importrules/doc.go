// Package importrules holds no code, only a test: it reads the module's
// import graph with `go list -deps -json` and fails, naming the path of
// imports that breaks it, when a package imports one it must not (the
// "must not import" line of each package's doc.go, and the table in
// README.md's Layout section). It runs in `make test`'s unit stage.
//
//	go test ./internal/importrules -v
//
// lists the rules that are pending (known broken, logged rather than
// failed) and whether they hold yet.
package importrules
