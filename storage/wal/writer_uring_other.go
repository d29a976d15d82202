//go:build !linux

package wal

import "errors"

func newURingWriter() (fileWriter, error) {
	return nil, errors.New("io_uring is only available on Linux")
}
