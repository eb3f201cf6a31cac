// Command belfry is the belfry notification server and its small clients.
//
//	belfry serve    run the server (SQLite and the in-process broker by default)
//	belfry send     publish a notification through a running server
//	belfry tail     print a user's live stream, resuming after every break
//	belfry token    mint a user token (JWT) for testing
//	belfry bench    load generator (package internal/bench)
//	belfry version  print the version
//
// Every flag of every subcommand can also be set in the environment as
// BELFRY_<NAME>, upper case with dashes turned into underscores
// (--jwt-secret is BELFRY_JWT_SECRET); a flag given on the command line wins.
//
// The package is laid out so that tests run the real program: Main.ParseFlags
// reads the configuration, Main.Run serves until its context ends.
package main
