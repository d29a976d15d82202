package remote

import (
	"fmt"
	"reflect"
	"unsafe"

	upstream "github.com/prometheus/prometheus/storage/remote"
)

// queueManagers returns the queue managers rs's WriteStorage runs, keyed by
// the hash of their remote_write config. Upstream keeps them in unexported
// fields (Storage.rws, WriteStorage.queues) and offers no other way to reach
// them; their methods used here are exported. The map is read right after
// ApplyConfig, by the goroutine that applies configurations, so it does not
// change underneath. An upstream release that renames the fields makes this
// return an error (and TestQueueManagersReachable fail), never guess.
func queueManagers(rs *upstream.Storage) (map[string]*upstream.QueueManager, error) {
	rws, err := unexportedField(reflect.ValueOf(rs).Elem(), "rws", reflect.TypeFor[*upstream.WriteStorage]())
	if err != nil {
		return nil, err
	}
	ws := rws.Interface().(*upstream.WriteStorage)
	if ws == nil {
		return nil, fmt.Errorf("remote: upstream Storage has no WriteStorage")
	}
	q, err := unexportedField(reflect.ValueOf(ws).Elem(), "queues", reflect.TypeFor[map[string]*upstream.QueueManager]())
	if err != nil {
		return nil, err
	}
	out := map[string]*upstream.QueueManager{}
	for k, v := range q.Interface().(map[string]*upstream.QueueManager) {
		out[k] = v
	}
	return out, nil
}

func unexportedField(v reflect.Value, name string, want reflect.Type) (reflect.Value, error) {
	f := v.FieldByName(name)
	if !f.IsValid() || f.Type() != want {
		return reflect.Value{}, fmt.Errorf("remote: upstream %s has no field %s of type %s (upstream changed: update queues.go)", v.Type(), name, want)
	}
	return reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem(), nil
}
