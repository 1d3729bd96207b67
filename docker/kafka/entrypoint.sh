#!/bin/bash
# Runs the broker of docker/kafka/Dockerfile: the repository's server.properties with the PLAINTEXT
# listener on every interface, advertised as $KAFKA_ADVERTISED_HOST:9092 (the controller stays on
# the container's loopback), data in /var/lib/kafka/data, formatted on the first start.
set -euo pipefail
home=/opt/kafka
state=/var/lib/kafka
data="$state/data"
props="$state/server.properties"
host="${KAFKA_ADVERTISED_HOST:-kafka}"
sed -e 's#^listeners=.*#listeners=PLAINTEXT://0.0.0.0:9092,CONTROLLER://127.0.0.1:9093#' \
    -e "s#^advertised.listeners=.*#advertised.listeners=PLAINTEXT://$host:9092#" \
    -e '/^log.dirs=/d' "$home/config/server.properties" >"$props"
echo "log.dirs=$data" >>"$props"
read -r -a heap <<<"${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
java_opts=("${heap[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
           "-Dlog4j2.configurationFile=$home/config/log4j2-console.xml")
if [ ! -f "$data/meta.properties" ]; then
  cluster_id="${KAFKA_CLUSTER_ID:-$(java "${java_opts[@]}" -cp "$home/libs/*" kafka.tools.StorageTool random-uuid)}"
  java "${java_opts[@]}" -cp "$home/libs/*" kafka.tools.StorageTool format --standalone -t "$cluster_id" -c "$props"
fi
exec java "${java_opts[@]}" -cp "$home/libs/*" kafka.Kafka "$props"
