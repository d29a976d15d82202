package loadgen

import (
	"fmt"
	"sort"
	"strconv"
)

// Label is one label pair. Series labels are sorted by name.
type Label struct{ Name, Value string }

// Kind says how a series' values evolve from round to round.
type Kind uint8

const (
	// Counter is an integer counter with uneven increments.
	Counter Kind = iota
	// SecondsCounter is a float counter (CPU seconds and the like).
	SecondsCounter
	// Gauge2 is a gauge with two decimals.
	Gauge2
	// GaugeFull is a gauge with full float64 precision.
	GaugeFull
	// Constant never changes (info metrics, sizes, flags).
	Constant
	// HistBucket, HistSum and HistCount are the series of a classic
	// histogram (MixDashboard): cumulative bucket counts, the sum and the
	// count of the observations, all monotonic, buckets non-decreasing in le.
	HistBucket
	HistSum
	HistCount
)

// family is one node_exporter metric family and the label dimensions it has on
// one host.
type family struct {
	name string
	kind Kind
	dims [][2]string // each combination of these label sets is one series; nil = one series
}

// hostSeries is one series of a host, without job and instance.
type hostSeries struct {
	labels []Label // sorted, including placeholders for instance and job
	kind   Kind
	inst   int // index of the instance label in labels
	// Histogram series only (HistBucket, HistSum, HistCount): the histogram
	// of the host they belong to and, for a bucket, the fraction of the
	// observations at or below its le.
	group int
	frac  float64
}

var (
	cpus        = []string{"0", "1", "2", "3"}
	cpuModes    = []string{"idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user"}
	disks       = []string{"nvme0n1", "sda"}
	netDevs     = []string{"eth0", "eth1", "lo"}
	filesystems = [][3]string{{"/dev/nvme0n1p1", "ext4", "/"}, {"/dev/nvme0n1p2", "ext4", "/var"}, {"tmpfs", "tmpfs", "/run"}}
	collectors  = []string{"arp", "bcache", "bonding", "btrfs", "conntrack", "cpu", "cpufreq", "diskstats",
		"dmi", "edac", "entropy", "fibrechannel", "filefd", "filesystem", "hwmon", "infiniband", "ipvs",
		"loadavg", "mdadm", "meminfo", "netclass", "netdev", "netstat", "nfs", "nfsd", "nvme", "os",
		"powersupplyclass", "pressure", "rapl", "schedstat", "selinux", "sockstat", "softnet", "stat",
		"tapestats", "textfile", "thermal_zone", "time", "timex", "udp_queues", "uname", "vmstat", "xfs", "zfs"}
)

// hostTemplate lists the series of one host, in a fixed order. It is built once.
var hostTemplate = buildHostTemplate()

// metricNames returns the distinct __name__ values of a host (for tests and docs).
func metricNames() []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range hostTemplate {
		n := s.labels[0].Value
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out
}

func buildHostTemplate() []hostSeries {
	var out []hostSeries
	add := func(name string, kind Kind, extra ...Label) {
		ls := append([]Label{{"__name__", name}, {"instance", ""}, {"job", "node"}}, extra...)
		sort.Slice(ls, func(i, j int) bool { return ls[i].Name < ls[j].Name })
		inst := -1
		for i, l := range ls {
			if l.Name == "instance" {
				inst = i
			}
		}
		out = append(out, hostSeries{labels: ls, kind: kind, inst: inst})
	}
	for _, c := range cpus {
		for _, m := range cpuModes {
			add("node_cpu_seconds_total", SecondsCounter, Label{"cpu", c}, Label{"mode", m})
		}
		for _, m := range []string{"nice", "user"} {
			add("node_cpu_guest_seconds_total", SecondsCounter, Label{"cpu", c}, Label{"mode", m})
		}
		add("node_cpu_scaling_frequency_hertz", Gauge2, Label{"cpu", c})
		add("node_cpu_frequency_max_hertz", Constant, Label{"cpu", c})
		add("node_cpu_frequency_min_hertz", Constant, Label{"cpu", c})
	}
	for _, fs := range filesystems {
		dev, fstype, mp := Label{"device", fs[0]}, Label{"fstype", fs[1]}, Label{"mountpoint", fs[2]}
		for _, n := range []string{"node_filesystem_avail_bytes", "node_filesystem_free_bytes", "node_filesystem_files_free"} {
			add(n, Gauge2, dev, fstype, mp)
		}
		for _, n := range []string{"node_filesystem_size_bytes", "node_filesystem_files", "node_filesystem_readonly", "node_filesystem_device_error"} {
			add(n, Constant, dev, fstype, mp)
		}
	}
	for _, d := range disks {
		dev := Label{"device", d}
		for _, n := range []string{"node_disk_reads_completed_total", "node_disk_writes_completed_total",
			"node_disk_read_bytes_total", "node_disk_written_bytes_total", "node_disk_reads_merged_total",
			"node_disk_writes_merged_total", "node_disk_discards_completed_total", "node_disk_flush_requests_total"} {
			add(n, Counter, dev)
		}
		for _, n := range []string{"node_disk_io_time_seconds_total", "node_disk_read_time_seconds_total",
			"node_disk_write_time_seconds_total", "node_disk_io_time_weighted_seconds_total"} {
			add(n, SecondsCounter, dev)
		}
		add("node_disk_io_now", Gauge2, dev)
		add("node_disk_info", Constant, dev, Label{"major", "259"}, Label{"minor", "0"})
	}
	for _, d := range netDevs {
		dev := Label{"device", d}
		for _, dir := range []string{"receive", "transmit"} {
			for _, what := range []string{"bytes", "packets", "errs", "drop", "fifo", "compressed"} {
				add("node_network_"+dir+"_"+what+"_total", Counter, dev)
			}
		}
		add("node_network_up", Constant, dev)
		add("node_network_mtu_bytes", Constant, dev)
		add("node_network_speed_bytes", Constant, dev)
		add("node_network_carrier", Constant, dev)
		add("node_network_info", Constant, dev, Label{"address", "02:42:ac:11:00:0" + strconv.Itoa(len(d))},
			Label{"broadcast", "ff:ff:ff:ff:ff:ff"}, Label{"duplex", "full"}, Label{"operstate", "up"})
	}
	for _, n := range []string{"Active", "Active_anon", "Active_file", "AnonHugePages", "AnonPages", "Buffers",
		"Cached", "CommitLimit", "Committed_AS", "Dirty", "Inactive", "Inactive_anon", "Inactive_file",
		"KernelStack", "Mapped", "MemAvailable", "MemFree", "PageTables", "SReclaimable", "SUnreclaim",
		"Shmem", "Slab", "SwapCached", "SwapFree", "Writeback"} {
		add("node_memory_"+n+"_bytes", Gauge2)
	}
	for _, n := range []string{"MemTotal", "SwapTotal", "HugePages_Total", "Hugepagesize", "VmallocTotal"} {
		add("node_memory_"+n+"_bytes", Constant)
	}
	for _, n := range []string{"node_load1", "node_load5", "node_load15", "node_time_seconds",
		"node_entropy_available_bits", "node_filefd_allocated", "node_procs_running", "node_procs_blocked",
		"node_sockstat_TCP_inuse", "node_sockstat_TCP_tw", "node_sockstat_TCP_alloc", "node_sockstat_UDP_inuse",
		"node_sockstat_sockets_used", "node_sockstat_TCP_mem_bytes", "node_netstat_Tcp_CurrEstab",
		"node_timex_offset_seconds", "node_timex_frequency_adjustment_ratio", "node_timex_maxerror_seconds",
		"node_timex_estimated_error_seconds", "node_pressure_cpu_waiting_seconds_total"} {
		add(n, GaugeFull)
	}
	for _, n := range []string{"node_context_switches_total", "node_forks_total", "node_intr_total",
		"node_netstat_Tcp_ActiveOpens", "node_netstat_Tcp_PassiveOpens", "node_netstat_Tcp_RetransSegs",
		"node_netstat_Tcp_InSegs", "node_netstat_Tcp_OutSegs", "node_netstat_Udp_InDatagrams",
		"node_netstat_Udp_OutDatagrams", "node_netstat_IpExt_InOctets", "node_netstat_IpExt_OutOctets",
		"node_vmstat_pgfault", "node_vmstat_pgmajfault", "node_vmstat_pgpgin", "node_vmstat_pgpgout",
		"node_vmstat_pswpin", "node_vmstat_pswpout", "node_vmstat_oom_kill"} {
		add(n, Counter)
	}
	for _, n := range []string{"node_boot_time_seconds", "node_filefd_maximum", "node_entropy_pool_size_bits",
		"node_timex_sync_status", "node_timex_tai_offset_seconds", "node_exporter_build_info_constant"} {
		add(n, Constant)
	}
	add("node_uname_info", Constant, Label{"domainname", "(none)"}, Label{"machine", "x86_64"},
		Label{"release", "6.8.0-49-generic"}, Label{"sysname", "Linux"}, Label{"version", "#49-Ubuntu SMP"})
	add("node_os_info", Constant, Label{"id", "ubuntu"}, Label{"name", "Ubuntu"}, Label{"version_id", "24.04"})
	for _, c := range collectors {
		add("node_scrape_collector_duration_seconds", GaugeFull, Label{"collector", c})
		add("node_scrape_collector_success", Constant, Label{"collector", c})
	}
	return out
}

// SeriesPerHost is the number of series one simulated host (instance) has.
func SeriesPerHost() int { return len(hostTemplate) }

// Instance returns the instance label value of host h.
func Instance(h int) string {
	return fmt.Sprintf("10.%d.%d.%d:9100", (h>>16)&255, (h>>8)&255, h&255)
}

// SeriesLabels returns the sorted labels of series i (hosts fill up in order:
// series i belongs to host i/SeriesPerHost()). It allocates; it is meant for
// setup and checks, not for the timed phase.
func SeriesLabels(i int) []Label {
	t := hostTemplate[i%len(hostTemplate)]
	ls := make([]Label, len(t.labels))
	copy(ls, t.labels)
	ls[t.inst].Value = Instance(i / len(hostTemplate))
	return ls
}

// SeriesKind returns how series i's values evolve.
func SeriesKind(i int) Kind { return hostTemplate[i%len(hostTemplate)].kind }
