package ephemeral

import (
	"archive/tar"
	"bytes"
	"context"
	"net"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	mobynet "github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	tc "github.com/testcontainers/testcontainers-go"
)

// BenchmarkBareDocker is the floor BenchmarkStartStop is measured against:
// the same engine work (network, container with a 127.0.0.1 port, the two
// TLS files copied in, start, TLS health wait, forced remove, network
// remove) as direct Docker API calls, without testcontainers or piv's
// checks and cleanup sweep. start/close of BenchmarkStartStop minus these
// is piv's own overhead.
func BenchmarkBareDocker(b *testing.B) {
	app := loadQuote(b)
	ctx := context.Background()
	eng, err := connect(ctx)
	if err != nil {
		b.Fatal(err)
	}
	cli := eng.cli
	var files bytes.Buffer
	tw := tar.NewWriter(&files)
	for _, f := range app.Ephemeral.Files {
		data, err := os.ReadFile(f.Source)
		if err != nil {
			b.Fatal(err)
		}
		tw.WriteHeader(&tar.Header{Name: f.Target[1:], Mode: f.Mode, Size: int64(len(data))})
		tw.Write(data)
	}
	tw.Close()
	port := mobynet.MustParsePort("8443/tcp")
	var start, stop time.Duration
	for b.Loop() {
		id := runID(b)
		t0 := time.Now()
		nw, err := cli.NetworkCreate(ctx, "bare-"+sanitize(id), client.NetworkCreateOptions{Driver: "bridge"})
		if err != nil {
			b.Fatal(err)
		}
		cr, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
			Config: &container.Config{Image: demoImage, Env: []string{"QUOTE_APP_CERT=/tls/quote.pem", "QUOTE_APP_KEY=/tls/quote-key.pem"},
				ExposedPorts: mobynet.PortSet{port: {}}},
			HostConfig: &container.HostConfig{PortBindings: mobynet.PortMap{port: {{HostIP: netip.MustParseAddr("127.0.0.1")}}}},
			NetworkingConfig: &mobynet.NetworkingConfig{EndpointsConfig: map[string]*mobynet.EndpointSettings{
				"bare-" + sanitize(id): {NetworkID: nw.ID, Aliases: []string{"quote"}}}},
		})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := cli.CopyToContainer(ctx, cr.ID, client.CopyToContainerOptions{DestinationPath: "/", Content: bytes.NewReader(files.Bytes())}); err != nil {
			b.Fatal(err)
		}
		if _, err := cli.ContainerStart(ctx, cr.ID, client.ContainerStartOptions{}); err != nil {
			b.Fatal(err)
		}
		ins, err := cli.ContainerInspect(ctx, cr.ID, client.ContainerInspectOptions{})
		if err != nil {
			b.Fatal(err)
		}
		env := &Env{Image: demoImage, Address: net.JoinHostPort("127.0.0.1", ins.Container.NetworkSettings.Ports[port][0].HostPort)}
		dc := &tc.DockerContainer{ID: cr.ID}
		dc.SetProvider(mustProvider(b))
		if err := env.waitHealthy(ctx, app, dc); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := cli.ContainerRemove(ctx, cr.ID, client.ContainerRemoveOptions{Force: true}); err != nil {
			b.Fatal(err)
		}
		if _, err := cli.NetworkRemove(ctx, nw.ID, client.NetworkRemoveOptions{}); err != nil {
			b.Fatal(err)
		}
		start += t1.Sub(t0)
		stop += time.Since(t1)
	}
	b.ReportMetric(float64(start.Milliseconds())/float64(b.N), "start-ms/op")
	b.ReportMetric(float64(stop.Milliseconds())/float64(b.N), "close-ms/op")
}

func mustProvider(b *testing.B) *tc.DockerProvider {
	p, err := tc.NewDockerProvider()
	if err != nil {
		b.Fatal(err)
	}
	return p
}
