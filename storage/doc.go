// Package storage is mytsdb's per-tenant database: it opens, for every tenant,
// the directory <Dir>/<tenant>/ holding its write-ahead log (wal/) and a lock
// file, replays the WAL into an in-memory head (storage/head), runs retention,
// and serves each tenant through the upstream Prometheus storage interfaces
// (storage.Storage and storage.ExemplarQueryable).
//
// It owns the data directory layout, tenant ID validation, the per-tenant
// lock and the retention loop. It must not parse configuration files or speak
// HTTP; the WAL format belongs to storage/wal and the in-memory layout to
// storage/head.
//
// Caveats:
//   - A tenant directory is locked with flock(2) while open: a second process
//     cannot open the same tenant, and a killed process leaves no stale lock
//     (the kernel releases it).
//   - The data directory may be the one a replaced Prometheus used: Open
//     skips Prometheus's entries (wal, chunks_head, wbl, snapshots, lock,
//     queries.active, ULID block directories) with one warning and never
//     touches them, and ValidateTenantID reserves those names, so that no
//     tenant can be opened on top of Prometheus's files. Their data is not
//     read (yet).
//   - Tenant.Close closes only that tenant; DB.Tenant reopens it on next use.
//   - Metrics of the default tenant carry Prometheus's plain names; other
//     tenants' carry the same names with a constant label tenant="<id>" (they
//     are registered unchecked, so that both shapes can share one registry).
package storage
