package parquetstore

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/thanos-io/objstore"
)

var fuzzBase struct {
	once    sync.Once
	meta    BlockMeta
	objects map[string][]byte // file name -> content
}

// fuzzFiles are the objects FuzzBlockObject replaces, by the input's
// first argument.
var fuzzFiles = []string{SeriesFile, SamplesFile, HistogramsFile, MetaFile}

// FuzzBlockObject replaces one object of a real block (series, samples,
// histograms or meta.json) with the fuzzer's bytes and runs every query
// kind over it: the footer, page index, page and meta decoding must never
// panic and never fail a query (a bad block is a warning). Seeds are the
// real objects, whole and truncated. Run with
// go test -fuzz=FuzzBlockObject ./parquetstore/.
func setupFuzzBase(f testing.TB) {
	fuzzBase.once.Do(func() {
		r := rand.New(rand.NewPCG(11, 12))
		m := genModel(r, 8, 0, 3600_000, 60_000)
		bkt := fsBucket(f)
		fuzzBase.meta = upload(f, bkt, tenant, localBlock(f, m))
		fuzzBase.objects = map[string][]byte{}
		for _, file := range fuzzFiles {
			fuzzBase.objects[file] = readObject(f, bkt, objectName(tenant, fuzzBase.meta.ULID, file))
		}
	})
}

func FuzzBlockObject(f *testing.F) {
	setupFuzzBase(f)
	for i, file := range fuzzFiles {
		b := fuzzBase.objects[file]
		f.Add(uint8(i), b)
		f.Add(uint8(i), b[:len(b)/2])
		f.Add(uint8(i), b[len(b)/2:])
	}
	f.Fuzz(runFuzzOne)
}

func runFuzzOne(t *testing.T, which uint8, data []byte) {
	{
		// A decoder that loops on bad input is as bad as one that panics,
		// and the fuzzer does not report hangs itself.
		watchdog := time.AfterFunc(20*time.Second, func() { panic("FuzzBlockObject: one input ran for 20s") })
		defer watchdog.Stop()
		file := fuzzFiles[int(which)%len(fuzzFiles)]
		bkt := objstore.NewInMemBucket()
		ctx := context.Background()
		for name, b := range fuzzBase.objects {
			if err := bkt.Upload(ctx, objectName(tenant, fuzzBase.meta.ULID, name), bytes.NewReader(b)); err != nil {
				t.Fatal(err)
			}
		}
		if file == MetaFile {
			putObject(t, bkt, objectName(tenant, fuzzBase.meta.ULID, MetaFile), data)
		} else {
			replaceObject(t, bkt, fuzzBase.meta, file, data)
			if len(data) > 0 {
				// Also claim the footer starts at an arbitrary place.
				var m BlockMeta
				_ = json.Unmarshal(readObject(t, bkt, objectName(tenant, fuzzBase.meta.ULID, MetaFile)), &m)
				for i := range m.Files {
					if m.Files[i].Name == file {
						m.Files[i].FooterOffset = int64(data[0]) * int64(len(data)) / 256
					}
				}
				mb, _ := json.Marshal(m)
				putObject(t, bkt, objectName(tenant, fuzzBase.meta.ULID, MetaFile), mb)
			}
		}
		s, err := Open(ctx, bkt, tenant, Options{CacheBytes: 1 << 20})
		if err != nil {
			t.Fatalf("open failed on a damaged block instead of leaving it out: %v", err)
		}
		defer s.Close()
		queryAll(t, s, -1<<62, 1<<62)
	}
}
