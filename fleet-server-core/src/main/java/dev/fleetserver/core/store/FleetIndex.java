package dev.fleetserver.core.store;

/** Names of the Fleet indices, exactly as the original server and Kibana address them. */
public final class FleetIndex {
    public static final String AGENTS = ".fleet-agents";
    public static final String ACTIONS = ".fleet-actions";
    public static final String ACTION_RESULTS = ".fleet-actions-results";
    public static final String POLICIES = ".fleet-policies";
    public static final String ENROLLMENT_API_KEYS = ".fleet-enrollment-api-keys";
    public static final String ARTIFACTS = ".fleet-artifacts";
    public static final String SECRETS = ".fleet-secrets";

    private FleetIndex() {
    }
}
