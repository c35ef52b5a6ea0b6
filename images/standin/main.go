// Stand-in tenant for timing benchmarks and rollout tests: answers an OpenClaw gateway's probes (GET /healthz -> 200
// {"ok":true,"status":"live"}, GET /readyz -> 200, GET / -> 200 with its version) as one small static binary, so that
// a fleet of hundreds fits in one machine's memory and its health checks cost milliseconds, not a Node.js start.
//
// It is installed as `node` and answers to the gateway's own command lines, so the tenant component runs it exactly as
// it runs OpenClaw:
//   node dist/index.js gateway ...   (any arguments but the two below) serves on $PORT (18789)
//   node -e '<script>'               the gateway's Docker health check: GET the first http:// URL in the script, exit 0 on 200
//   node --check                     GET /healthz on loopback, exit 0 on 200
// Releases (scripts/setup/images.sh builds them as tags of agentpod/standin): STANDIN_VERSION names the version `/`
// reports; STANDIN_MIGRATE=1 writes a marker into $OPENCLAW_STATE_DIR at start, as a release that migrates its data
// would; STANDIN_BROKEN=1 answers 503 on /healthz and /readyz, so the container never turns healthy.
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"syscall"
	"time"
)

func main() {
	port := os.Getenv("PORT")
	if port == "" {
		port = "18789"
	}
	if len(os.Args) > 1 && os.Args[1] == "--check" {
		os.Exit(probe("http://127.0.0.1:" + port + "/healthz"))
	}
	if len(os.Args) > 2 && os.Args[1] == "-e" {
		url := regexp.MustCompile(`http://[^'"\s)]+`).FindString(os.Args[2])
		if url == "" {
			fmt.Fprintln(os.Stderr, "standin: no http:// URL in the script")
			os.Exit(1)
		}
		os.Exit(probe(url))
	}
	serve(port)
}

func probe(url string) int {
	client := http.Client{Timeout: 3 * time.Second}
	response, err := client.Get(url)
	if err != nil {
		return 1
	}
	response.Body.Close()
	if response.StatusCode != http.StatusOK {
		return 1
	}
	return 0
}

func serve(port string) {
	version := os.Getenv("STANDIN_VERSION")
	if version == "" {
		version = "1"
	}
	broken := os.Getenv("STANDIN_BROKEN") == "1"
	if state := os.Getenv("OPENCLAW_STATE_DIR"); os.Getenv("STANDIN_MIGRATE") == "1" && state != "" {
		if err := os.WriteFile(filepath.Join(state, "migrated-by"), []byte(version+"\n"), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "cannot migrate: %v\n", err)
		}
	}
	answer := func(w http.ResponseWriter, r *http.Request) {
		status, body := http.StatusNotFound, `{"ok":false,"error":"not_found"}`
		switch r.URL.Path {
		case "/healthz", "/readyz":
			if broken {
				status, body = http.StatusServiceUnavailable, `{"ok":false,"status":"broken"}`
			} else if r.URL.Path == "/healthz" {
				status, body = http.StatusOK, `{"ok":true,"status":"live"}`
			} else {
				status, body = http.StatusOK, `{"ok":true,"status":"ready"}`
			}
		case "/":
			status, body = http.StatusOK, fmt.Sprintf(`{"ok":true,"service":"agentpod-standin","version":%q}`, version)
		}
		w.Header().Set("content-type", "application/json; charset=utf-8")
		w.Header().Set("cache-control", "no-store")
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			w.Write([]byte(body))
		}
	}
	server := &http.Server{Addr: "0.0.0.0:" + port, Handler: http.HandlerFunc(answer), ReadHeaderTimeout: 10 * time.Second}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-stop
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		server.Shutdown(ctx)
	}()
	fmt.Printf("standin %s listening on :%s\n", version, port)
	if err := server.ListenAndServe(); err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
