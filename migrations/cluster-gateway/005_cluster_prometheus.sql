-- The Prometheus server that scrapes the cluster's pods (cAdvisor, DCGM): where the resource use of its attempts is read.
ALTER TABLE cluster_gateway_clusters ADD COLUMN prometheus TEXT;
