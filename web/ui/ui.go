package ui

import (
	"embed"
	"io/fs"
)

//go:embed build
var files embed.FS

// Files returns the built UI: index.html, assets/* and favicon.svg when the
// npm step ran, else only placeholder.html.
func Files() fs.FS {
	sub, err := fs.Sub(files, "build")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	return sub
}

// Built reports whether the bundle is embedded (index.html present) rather
// than only the placeholder.
func Built() bool {
	_, err := fs.Stat(Files(), "index.html")
	return err == nil
}
