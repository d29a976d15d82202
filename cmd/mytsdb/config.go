package main

import (
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/prometheus/prometheus/config"
)

//go:embed default.yml
var defaultConfigYAML string

// defaultConfigFile is the default of --config.file.
const defaultConfigFile = "prometheus.yml"

// configSource loads the configuration: the --config.file, or the embedded
// default when that flag was left at its default and the file is missing.
type configSource struct {
	file       string // --config.file
	explicit   bool   // --config.file was given on the command line
	selfTarget string // host:port of our own first listen address
	selfScheme string // http, or https when --web.config.file enables TLS
	selfPath   string // <route prefix>/metrics
	// agent is --agent: the config's server-only sections are refused, as
	// Prometheus's config.LoadFile refuses them in agent mode.
	agent bool
}

// useEmbedded reports whether the embedded default applies right now.
func (s *configSource) useEmbedded() bool {
	if s.explicit || s.file != defaultConfigFile {
		return false
	}
	_, err := os.Stat(s.file)
	return errors.Is(err, fs.ErrNotExist)
}

// load reads and parses the configuration; embedded says which one it was.
func (s *configSource) load(logger *slog.Logger) (cfg *config.Config, embedded bool, err error) {
	if s.useEmbedded() {
		cfg, err = config.Load(s.embeddedYAML(), logger)
		if err != nil {
			return nil, true, fmt.Errorf("parsing the embedded default config: %w", err)
		}
		return cfg, true, nil
	}
	cfg, err = config.LoadFile(s.file, s.agent, logger)
	return cfg, false, err
}

func (s *configSource) embeddedYAML() string {
	return strings.NewReplacer(
		"SELF_TARGET", s.selfTarget,
		"SELF_SCHEME", s.selfScheme,
		"SELF_METRICS_PATH", s.selfPath,
	).Replace(defaultConfigYAML)
}

// selfScrapeTarget turns a listen address into a scrape target for ourselves:
// an unspecified host (":9090", "0.0.0.0:9090", "[::]:9090") becomes
// localhost, as in Prometheus's shipped prometheus.yml.
func selfScrapeTarget(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("listen address %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	return net.JoinHostPort(host, port), nil
}
