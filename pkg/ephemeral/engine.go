package ephemeral

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	tclog "github.com/testcontainers/testcontainers-go/log"
)

// DefaultDockerHost is where the engine is looked for when DOCKER_HOST is unset.
const DefaultDockerHost = "unix:///var/run/docker.sock"

// ErrNoDocker: no Docker engine answered. Errors wrapping it are *NoDockerError.
var ErrNoDocker = errors.New("no Docker engine reachable")

// ErrImageMissing: an image is not in the local engine. piv never pulls.
// Errors wrapping it are *ImageMissingError.
var ErrImageMissing = errors.New("image not found in the local Docker engine")

// NoDockerError says what was tried and why it failed, in one line.
type NoDockerError struct {
	Host   string // the engine address tried (DOCKER_HOST, or DefaultDockerHost)
	Source string // "DOCKER_HOST" or "default socket"
	Reason string // the underlying failure, one line
}

func (e *NoDockerError) Error() string {
	return fmt.Sprintf("no Docker engine reachable at %s (%s): %s; start Docker or point DOCKER_HOST at a running engine",
		e.Host, e.Source, e.Reason)
}

func (e *NoDockerError) Is(target error) bool { return target == ErrNoDocker }

// ImageMissingError names the image and how to get it into the local engine.
type ImageMissingError struct {
	Image string
	For   string // "app" or the dependency's name
}

func (e *ImageMissingError) Error() string {
	return fmt.Sprintf("image %q (%s) is not in the local Docker engine and piv never pulls: "+
		"build it (`make images` or fixtures/images/build.sh builds the demo piv-quoteapp images) "+
		"or load it (`docker load -i IMAGE.tar`), then check with `docker image inspect %s`",
		e.Image, e.For, e.Image)
}

func (e *ImageMissingError) Is(target error) bool { return target == ErrImageMissing }

// configure sets, once and before any testcontainers call, what running with
// no registry needs: no reaper (ryuk would be pulled), and a host override
// when piv itself runs in a container next to the engine. The reaper is
// replaced by piv's own cleanup (Env.Close, the piv.run label, Sweep).
// testcontainers reads its configuration once per process, so this runs at
// package init, before any caller can reach testcontainers.
func configure() {
	// Exactly "true": testcontainers compares the lowercase string.
	os.Setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
	if _, err := os.Stat("/.dockerenv"); err == nil {
		if _, set := os.LookupEnv("TESTCONTAINERS_HOST_OVERRIDE"); !set {
			os.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "localhost")
		}
	}
	// testcontainers narrates every step on stderr; piv reports its own
	// progress (Options.Progress) and keeps stderr for diagnostics.
	tclog.SetDefault(tclog.NewNoopLogger())
}

func init() { configure() }

// engine is piv's own Docker API client: the reachability check, image
// checks, logs and cleanup go through it, with the same DOCKER_HOST the
// docker CLI would use. testcontainers finds the same engine (DOCKER_HOST
// first, then the default socket); checking here first means a missing
// engine is a clear error and a wrong DOCKER_HOST is never silently replaced
// by testcontainers' fallback to the default socket.
type engine struct {
	cli    *client.Client
	host   string
	local  bool // unix socket / named pipe: published ports are on this machine
	source string
}

func connect(ctx context.Context) (*engine, error) {
	host, source := os.Getenv("DOCKER_HOST"), "DOCKER_HOST"
	if host == "" {
		host, source = DefaultDockerHost, "default socket"
	}
	fail := func(err error) error {
		return &NoDockerError{Host: host, Source: source, Reason: oneLine(err)}
	}
	cli, err := client.New(client.FromEnv, client.WithHost(host))
	if err != nil {
		return nil, fail(err)
	}
	pctx, cancel := context.WithTimeout(ctx, EngineTimeout)
	defer cancel()
	if _, err := cli.Ping(pctx, client.PingOptions{NegotiateAPIVersion: true}); err != nil {
		cli.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fail(err)
	}
	local := strings.HasPrefix(host, "unix://") || strings.HasPrefix(host, "npipe://")
	return &engine{cli: cli, host: host, local: local, source: source}, nil
}

// imageID returns the local image's ID, or *ImageMissingError. Starting by
// ID rather than by name means testcontainers finds it locally by
// construction and never has a name to pull.
func (e *engine) imageID(ctx context.Context, ref, forWhat string) (string, error) {
	ictx, cancel := context.WithTimeout(ctx, EngineTimeout)
	defer cancel()
	img, err := e.cli.ImageInspect(ictx, ref)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			return "", &ImageMissingError{Image: ref, For: forWhat}
		}
		return "", fmt.Errorf("inspect image %q: %s", ref, oneLine(err))
	}
	return img.ID, nil
}

// oneLine keeps the innermost useful cause of a Docker client error: the
// socket error when there is one ("dial unix /x.sock: connect: no such file
// or directory"), else the message's first line.
func oneLine(err error) string {
	var op *net.OpError
	if errors.As(err, &op) {
		return op.Error()
	}
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
