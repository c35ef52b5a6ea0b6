// The local stack's DNS provider for Traefik: lego's `httpreq` provider posts {fqdn, value} to /present and
// /cleanup here, and this forwards them to Pebble's challenge test server (pebble-challtestsrv), whose management
// API sets and clears TXT records and whose DNS server Pebble validates against. Traefik's image has no shell, so
// lego's `exec` provider cannot run a script; this is the smallest thing `httpreq` can talk to. Standard library only.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"sync"
	"time"
)

type legoRequest struct {
	FQDN  string `json:"fqdn"`
	Value string `json:"value"`
}

func main() {
	listen := flag.String("listen", ":8056", "address of the httpreq API")
	challtestsrv := flag.String("challtestsrv", "http://agentpod-acme-dns:8055", "management API of pebble-challtestsrv")
	flag.Parse()
	client := &http.Client{Timeout: 10 * time.Second}
	forward := func(path string, body map[string]string) error {
		payload, _ := json.Marshal(body)
		response, err := client.Post(*challtestsrv+path, "application/json", bytes.NewReader(payload))
		if err != nil {
			return err
		}
		defer response.Body.Close()
		if response.StatusCode != http.StatusOK {
			return fmt.Errorf("%s answered HTTP %d", path, response.StatusCode)
		}
		return nil
	}
	// Several hosts ask for the same wildcard at once, and each sets its own value on the same name.
	// challtestsrv's clear-txt removes every value of a name, so a name is cleared only once no host still waits
	// on a value there: one host's cleanup must not fail another's validation. (Cloudflare deletes by record id.)
	var mu sync.Mutex
	pending := map[string]map[string]int{}
	decode := func(w http.ResponseWriter, r *http.Request) (legoRequest, bool) {
		var request legoRequest
		if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&request) != nil || request.FQDN == "" {
			http.Error(w, "POST a JSON body {\"fqdn\": ..., \"value\": ...}", http.StatusBadRequest)
			return request, false
		}
		return request, true
	}
	fail := func(w http.ResponseWriter, path string, request legoRequest, err error) {
		log.Printf("%s %s: %v", path, request.FQDN, err)
		http.Error(w, err.Error(), http.StatusBadGateway)
	}
	http.HandleFunc("/present", func(w http.ResponseWriter, r *http.Request) {
		request, ok := decode(w, r)
		if !ok {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if err := forward("/set-txt", map[string]string{"host": request.FQDN, "value": request.Value}); err != nil {
			fail(w, "/set-txt", request, err)
			return
		}
		if pending[request.FQDN] == nil {
			pending[request.FQDN] = map[string]int{}
		}
		pending[request.FQDN][request.Value]++
		log.Printf("/set-txt %s (%d pending)", request.FQDN, len(pending[request.FQDN]))
	})
	http.HandleFunc("/cleanup", func(w http.ResponseWriter, r *http.Request) {
		request, ok := decode(w, r)
		if !ok {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if values := pending[request.FQDN]; values != nil {
			if values[request.Value]--; values[request.Value] <= 0 {
				delete(values, request.Value)
			}
			if len(values) > 0 {
				log.Printf("cleanup %s: kept, %d other value(s) pending", request.FQDN, len(values))
				return
			}
			delete(pending, request.FQDN)
		}
		if err := forward("/clear-txt", map[string]string{"host": request.FQDN}); err != nil {
			fail(w, "/clear-txt", request, err)
			return
		}
		log.Printf("/clear-txt %s", request.FQDN)
	})
	log.Printf("httpreq adapter on %s, forwarding to %s", *listen, *challtestsrv)
	log.Fatal(http.ListenAndServe(*listen, nil))
}
