module agentpod.local/acme-dns-adapter

go 1.22
