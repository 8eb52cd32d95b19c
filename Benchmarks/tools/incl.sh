#!/bin/bash
# incl.sh FILE.incl.txt N : inclusive instructions per request of the key functions
f=$1; n=$2
tot=$(grep TOTALS $f | awk '{gsub(",","",$1); print $1}')
echo "total $tot  per request $((tot / n))"
while IFS='|' read -r label pat; do
  v=$(grep -E "$pat" $f | head -1 | awk '{gsub(",","",$1); print $1}')
  [ -n "$v" ] && printf "%-44s %12s  %8d/req  %5.1f%%\n" "$label" "$v" $((v / n)) $(echo "100*$v/$tot" | bc -l)
done <<'P'
curl loop thread (run)|CurlLoopC3run
 curl_multi_perform|\?\?\?:curl_multi_perform
  header callback (receiveHeader)|TransferC13receiveHeader
  body callback (receiveBody)|TransferC11receiveBody
 curl_multi_poll|curl_multi_poll
stdin reader thread (readLoop)|RPCServerC8readLoop
 JSONParser.parse|JSONParserV5parse|JSONParser.*parse
 startRequest|RPCServerC12startRequest.*tF \[
JSONDecoder.decode (all)|JSONDecoderC6decode_4fromxxm_AA4DataVtKSeRzlF \[
JSONEncoder.encode (results)|MethodTableV12encodeResult
JSONValueDecoder (params)|JSONValueDecoder
RequestContext.respond|RequestContextC7respond5parts
OutputChannel.send|OutputChannelC4send
stdout writer thread (writerLoop)|OutputChannelC10writerLoop
StatsMonitor.follow (background)|StatsMonitorC6follow.*TY4_ \[
stats usage lookup|StatsMonitorC5usage
Logger|Logging6Logger
malloc|malloc.c:malloc \[
free|malloc.c:free \[
P
