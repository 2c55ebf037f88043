package dev.fleetserver.netty.http;

import io.netty.handler.codec.compression.StandardCompressionOptions;
import io.netty.handler.codec.http.HttpContentCompressor;
import io.netty.handler.codec.http.HttpResponse;

/**
 * Gzips a response only when the request's {@code Accept-Encoding} is exactly {@code gzip} (what Elastic Agent's Go
 * client sends) and the body is above the threshold, at the configured level, like the original.
 */
public final class GzipWhenAskedCompressor extends HttpContentCompressor {

    public GzipWhenAskedCompressor(int level, int threshold) {
        super(threshold, StandardCompressionOptions.gzip(level, 15, 8));
    }

    @Override
    protected Result beginEncode(HttpResponse response, String acceptEncoding) throws Exception {
        if (acceptEncoding == null || !acceptEncoding.trim().equals("gzip")) {
            return null;
        }
        return super.beginEncode(response, acceptEncoding);
    }
}
