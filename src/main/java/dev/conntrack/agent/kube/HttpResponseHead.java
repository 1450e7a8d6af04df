package dev.conntrack.agent.kube;

import java.io.InputStream;

/**
 * Status and body of one HTTP/1.1 response.
 *
 * @param status    the status code
 * @param body      the body, already framed (chunked, fixed length or up to the connection's end)
 * @param keepAlive whether the connection may carry another request once the body is read to its end
 * @param retryAfterSeconds the Retry-After header in seconds (429, 503), or -1
 */
record HttpResponseHead(int status, InputStream body, boolean keepAlive, long retryAfterSeconds) {
}
