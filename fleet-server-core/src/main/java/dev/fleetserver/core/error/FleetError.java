package dev.fleetserver.core.error;

/**
 * Every error the agent-facing API can answer with, by the original's error name and default message. The HTTP
 * status for each lives in exactly one place, in the Netty module's error mapper; core only says which error.
 */
public enum FleetError {
    AGENT_NOT_FOUND("AgentNotFound", "agent could not be found"),
    API_KEY_NOT_ENABLED("Unauthorized", "ApiKey not enabled"),
    CLIENT_CLOSED_REQUEST("StatusClientClosedRequest", "server is stopping"),
    AGENT_NOT_REPLACEABLE("AgentNotReplaceable", "existing agent cannot be replaced"),
    INVALID_USER_AGENT("InvalidUserAgent", "user-agent is invalid"),
    UNSUPPORTED_VERSION("UnsupportedVersion", "version is not supported"),
    NOT_FOUND("NotFound", "not found"),
    RATE_LIMIT("RateLimit", "exceeded the rate limit"),
    MAX_LIMIT("MaxLimit", "exceeded the max limit"),
    REQUEST_TIMEOUT("RequestTimeout", "timeout on request"),
    /** Elasticsearch answered 429 to an API-key authentication. */
    ES_API_KEY_AUTH_LIMIT("ElasticsearchAPIKeyAuthLimit", "exceeded the elasticsearch api key auth limit"),
    UPDATING_INACTIVE_AGENT("Unauthorized", "Agent not active"),
    AGENT_IDENTITY("ErrAgentIdentity", "Agent header contains wrong identifier"),
    AGENT_CORRUPTED("ErrAgentCorrupted", "Agent record corrupted"),
    AGENT_INACTIVE("ErrAgentInactive", "Agent inactive"),
    NO_AUTH_HEADER("ErrNoAuthHeader", "no authorization header"),
    MALFORMED_HEADER("ErrMalformedHeader", "malformed authorization header"),
    UNAUTHORIZED("ErrUnauthorized", "unauthorized"),
    /**
     * Enroll with a valid API key that is not an active enrollment key: one revoked since (its API key still
     * authenticates from the cache for a while) or another kind of key, such as an agent's access key. The original
     * answers {@code 500} ({@code FindEnrollmentAPIKey: hit count mismatch 0}), which agents retry for ever; this is
     * its closest {@code 401}: the error name it answers once Elasticsearch itself refuses a revoked key
     * ({@code ErrUnauthorized}), with a message that says which check failed.
     */
    ENROLLMENT_KEY_NOT_ACTIVE("ErrUnauthorized", "not an active enrollment token"),
    MALFORMED_TOKEN("ErrMalformedToken", "malformed token"),
    INVALID_TOKEN("ErrInvalidToken", "token not valid utf8"),
    API_KEY_NOT_FOUND("ErrAPIKeyNotFound", "api key not found"),
    INVALID_API_VERSION_FORMAT("ErrInvalidAPIVersionFormat", "invalid version format"),
    UNSUPPORTED_API_VERSION("ErrUnsupportedAPIVersion", "version is not supported"),
    POLICY_NOT_FOUND("ErrPolicyNotFound", "ErrPolicyNotFound"),
    /** An audit/unenroll for an agent already recorded as orphaned: that mark is kept until its next checkin. */
    AUDIT_REASON_CONFLICT("ErrAuditReasonConflict", "agent document contains audit_unenroll_reason"),
    /** An endpoint that answers only over TLS was called over plain HTTP. */
    TLS_REQUIRED("ErrTLSRequired", "server must run with tls to use this endpoint"),
    /** A request framed with a transfer coding other than {@code chunked}. */
    TRANSFER_CODING_NOT_IMPLEMENTED("NotImplemented", "transfer coding not implemented"),
    // File uploads from agents (diagnostics bundles): the original's uploader errors.
    /** No upload record has the id in the path. */
    UPLOAD_NOT_FOUND("ErrInvalidFileID", "ErrInvalidID"),
    FILE_INFO_BODY_REQUIRED("ErrFileInfoBodyRequired", "file info body is required"),
    AGENT_ID_MISSING("ErrAgentIDMissing", "required field agent_id is missing"),
    FILE_FEATURE_DISABLED("ErrFileFeatureDisable", "File Transfer is disabled in Fleet Server configuration"),
    FILE_SIZE_TOO_LARGE("ErrFileSizeTooLarge", "this file exceeds the maximum allowed file size"),
    PAYLOAD_REQUIRED("ErrPayloadRequired", "upload start payload required"),
    FILE_SIZE_REQUIRED("ErrFileSizeRequired", "file.size is required"),
    INVALID_FILE_SIZE("ErrInvalidFileSize", "invalid filesize"),
    FIELD_REQUIRED("ErrFieldRequired", "field required"),
    UPLOAD_EXPIRED("ErrUploadExpired", "upload has expired"),
    UPLOAD_STOPPED("ErrUploadStopped", "upload has stopped"),
    INVALID_CHUNK_NUM("ErrInvalidChunkNum", "invalid chunk number"),
    HASH_MISMATCH("ErrHashMismatch", "hash does not match"),
    STATUS_NO_UPLOADS("ErrStatusNoUploads", "file closed, not accepting uploads"),
    TRANSIT_HASH_REQUIRED("TransitHashRequired", "Transit hash required"),
    MISSING_CHUNKS("ErrMissingChunks", "file data incomplete, not all chunks were uploaded"),
    FAIL_VALIDATION("ErrFailValidation", "file contents failed validation"),
    /** An upload begin or complete body over its route's size limit (other routes answer 400 for that). */
    PAYLOAD_SIZE_TOO_LARGE("ErrPayloadSizeTooLarge", "the request body exceeds the maximum allowed size"),
    /** A malformed request: the message is {@code Bad request: <what>}. */
    BAD_REQUEST("BadRequest", "Bad request"),
    /**
     * What the original answers with its default branch (HTTP 500, name {@code BadRequest}). Also the answer when the
     * store refused a request (not an outage): {@code internal error}, the store's own text only in the log.
     */
    INTERNAL("BadRequest", "internal error"),
    /**
     * A write lost a race with a concurrent write to the same document as often as it was retried; nothing was
     * written, and the request can simply be sent again.
     */
    CONCURRENT_UPDATE("ServiceUnavailable", "the document changed while the request was applied; retry"),
    /** The store (Elasticsearch) refused the connection or is unavailable. */
    SERVICE_UNAVAILABLE("ServiceUnavailable", "Fleet server unable to communicate with Elasticsearch"),
    // Artifacts and file delivery
    /** The agent's policy does not list the artifact at that hash. */
    ARTIFACT_FORBIDDEN("Forbidden", "agent not authorized for artifact"),
    /** The agent document names no policy ({@code policy_id}, nor {@code agent_policy_id}). */
    AGENT_POLICY_ID_MISSING("Forbidden", "agent has no policy ID"),
    /** No file for delivery, or none of its data: {@code delivery.ErrNoFile}. */
    NO_FILE("ErrNoFile", "file not found"),
    /** A library file that does not exist: {@code ErrFileForDeliveryNotFound}. */
    FILE_FOR_DELIVERY_NOT_FOUND("ErrFileForDeliveryNotFound", "file not found"),
    /** A library file asked for by a client not on the allow-list ({@code X-elastic-product-origin}). */
    CLIENT_FILE_FORBIDDEN("ErrClientFileForbidden", "client forbidden"),
    /** A {@code Range} that cannot be served. */
    RANGE_NOT_SATISFIABLE("ErrRangeNotSatisfiable", "range not satisfiable"),
    /** More than one range in {@code Range}. */
    MULTI_RANGE_NOT_SATISFIABLE("ErrRangeNotSatisfiable", "Multipart ranges not satisfiable"),
    // Management API (Kibana-style errors)
    MANAGEMENT_UNAUTHORIZED("Unauthorized", "missing or invalid bearer token"),
    /** A console session's change sent from another origin than the console's. */
    MANAGEMENT_FORBIDDEN("Forbidden", "forbidden"),
    MANAGEMENT_NOT_FOUND("Not Found", "not found"),
    MANAGEMENT_BAD_REQUEST("Bad Request", "bad request"),
    MANAGEMENT_CONFLICT("Conflict", "conflict");

    private final String errorName;
    private final String defaultMessage;

    FleetError(String errorName, String defaultMessage) {
        this.errorName = errorName;
        this.defaultMessage = defaultMessage;
    }

    /** The {@code error} field of the JSON error body. */
    public String errorName() {
        return errorName;
    }

    /** The {@code message} field when the exception carries none of its own. */
    public String defaultMessage() {
        return defaultMessage;
    }
}
