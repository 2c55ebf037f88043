package dev.fleetserver.core.error;

/**
 * A domain failure that the API answers with a documented error body. Carries which {@link FleetError} and the
 * message to show (never a secret).
 */
public final class FleetException extends RuntimeException {
    private final FleetError error;

    public FleetException(FleetError error) {
        this(error, error.defaultMessage(), null);
    }

    public FleetException(FleetError error, String message) {
        this(error, message, null);
    }

    public FleetException(FleetError error, String message, Throwable cause) {
        super(message, cause, false, false);
        this.error = error;
    }

    /** {@code 400 BadRequest} with the original's message form {@code Bad request: <detail>}. */
    public static FleetException badRequest(String detail) {
        return new FleetException(FleetError.BAD_REQUEST, "Bad request: " + detail);
    }

    public FleetError error() {
        return error;
    }
}
