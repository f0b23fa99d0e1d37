// tlogcheck: an independent client of a creditledger ledger published with publish-tiles.
//
// It reads DIR/checkpoint and DIR/tile/... as plain files, checks the checkpoint's signature
// with golang.org/x/mod/sumdb/note (the log's verifier key), recomputes the tree hash from the
// tiles with golang.org/x/mod/sumdb/tlog (which authenticates every tile it reads against
// that hash), and proves the inclusion of each INDEX:HEXHASH leaf given.
//
// Usage: tlogcheck DIR VKEY INDEX:HEXHASH...
// Prints "tree N BASE64ROOT" and "included INDEX" per leaf; exits 1 on any failure.
package main

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type fileTiles struct{ dir string }

func (f fileTiles) Height() int { return 8 }

func (f fileTiles) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	data := make([][]byte, len(tiles))
	for i, t := range tiles {
		b, err := os.ReadFile(filepath.Join(f.dir, filepath.FromSlash(t.Path())))
		if err != nil {
			return nil, err
		}
		data[i] = b
	}
	return data, nil
}

func (f fileTiles) SaveTiles(tiles []tlog.Tile, data [][]byte) {}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "tlogcheck: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	if len(os.Args) < 3 {
		fail("usage: tlogcheck DIR VKEY INDEX:HEXHASH...")
	}
	dir, vkey := os.Args[1], os.Args[2]
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		fail("verifier key: %v", err)
	}
	msg, err := os.ReadFile(filepath.Join(dir, "checkpoint"))
	if err != nil {
		fail("%v", err)
	}
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		fail("checkpoint: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[0] != verifier.Name() {
		fail("checkpoint: not a checkpoint of %s", verifier.Name())
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("checkpoint size: %v", err)
	}
	rootBytes, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(rootBytes) != tlog.HashSize {
		fail("checkpoint root: malformed")
	}
	var root tlog.Hash
	copy(root[:], rootBytes)
	reader := tlog.TileHashReader(tlog.Tree{N: size, Hash: root}, fileTiles{dir})
	computed, err := tlog.TreeHash(size, reader)
	if err != nil {
		fail("tree hash from tiles: %v", err)
	}
	if computed != root {
		fail("the tiles hash to %v, not the checkpoint's %v", computed, root)
	}
	fmt.Printf("tree %d %s\n", size, computed)
	for _, arg := range os.Args[3:] {
		parts := strings.SplitN(arg, ":", 2)
		index, err := strconv.ParseInt(parts[0], 10, 64)
		if err != nil || len(parts) != 2 {
			fail("bad leaf argument %q", arg)
		}
		raw, err := hex.DecodeString(parts[1])
		if err != nil || len(raw) != tlog.HashSize {
			fail("bad leaf hash %q", parts[1])
		}
		var leaf tlog.Hash
		copy(leaf[:], raw)
		proof, err := tlog.ProveRecord(size, index, reader)
		if err != nil {
			fail("proof of leaf %d: %v", index, err)
		}
		if err := tlog.CheckRecord(proof, size, root, index, leaf); err != nil {
			fail("leaf %d: %v", index, err)
		}
		fmt.Printf("included %d\n", index)
	}
}
