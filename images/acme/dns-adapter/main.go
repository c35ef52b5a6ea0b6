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
	handle := func(path string, body func(legoRequest) map[string]string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var request legoRequest
			if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&request) != nil || request.FQDN == "" {
				http.Error(w, "POST a JSON body {\"fqdn\": ..., \"value\": ...}", http.StatusBadRequest)
				return
			}
			if err := forward(path, body(request)); err != nil {
				log.Printf("%s %s: %v", path, request.FQDN, err)
				http.Error(w, err.Error(), http.StatusBadGateway)
				return
			}
			log.Printf("%s %s", path, request.FQDN)
		}
	}
	http.HandleFunc("/present", handle("/set-txt", func(r legoRequest) map[string]string { return map[string]string{"host": r.FQDN, "value": r.Value} }))
	http.HandleFunc("/cleanup", handle("/clear-txt", func(r legoRequest) map[string]string { return map[string]string{"host": r.FQDN} }))
	log.Printf("httpreq adapter on %s, forwarding to %s", *listen, *challtestsrv)
	log.Fatal(http.ListenAndServe(*listen, nil))
}
