// Command claims-app is a small claims service, standing in for the team's
// real application in this example: health, version, and a claims API that
// files a claim against a policy and returns it by id.
//
//	claims-app -listen 127.0.0.5:18080 -version 1.8.0 -node node-1
package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"log"
	"net/http"
	"strings"
	"sync"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18080", "address to listen on")
	version := flag.String("version", "1.8.0", "version to report on /version")
	node := flag.String("node", "node-1", "node name to report")
	broken := flag.Bool("broken-claims", false, "answer 500 on POST /api/claims (a faulty release)")
	flag.Parse()

	var mu sync.Mutex
	claims := map[string]map[string]any{}
	mux := http.NewServeMux()
	writeJSON := func(w http.ResponseWriter, code int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Served-By", *node)
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"status": "UP", "node": *node})
	})
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"version": *version, "node": *node})
	})
	mux.HandleFunc("POST /api/claims", func(w http.ResponseWriter, r *http.Request) {
		if *broken {
			writeJSON(w, 500, map[string]any{"error": "claims store unavailable"})
			return
		}
		var in struct {
			Policy string  `json:"policy"`
			Amount float64 `json:"amount"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil || !strings.HasPrefix(in.Policy, "POL-") {
			writeJSON(w, 400, map[string]any{"error": "policy must look like POL-…", "field": "policy"})
			return
		}
		b := make([]byte, 6)
		rand.Read(b)
		id := "CLM-" + hex.EncodeToString(b)
		c := map[string]any{"id": id, "policy": in.Policy, "amount": in.Amount, "status": "RECEIVED"}
		mu.Lock()
		claims[id] = c
		mu.Unlock()
		writeJSON(w, 201, c)
	})
	mux.HandleFunc("GET /api/claims/{id}", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		c, ok := claims[r.PathValue("id")]
		mu.Unlock()
		if !ok {
			writeJSON(w, 404, map[string]any{"error": "no such claim"})
			return
		}
		writeJSON(w, 200, c)
	})
	log.Fatal(http.ListenAndServe(*listen, mux))
}
