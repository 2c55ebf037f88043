package dev.fleetserver.bench;

import java.util.Collection;
import java.util.Map;
import java.util.Set;

/** Reads back, at the end of a chaos phase, what a back end holds: agent documents and action results. */
interface StoreView {
    /** The agent documents among {@code ids} that exist (all agents when the back end lists them cheaply), by id. */
    Map<String, LostWrites.AgentDoc> agents(Collection<String> ids) throws Exception;

    /** Which of the action results {@code <action id>:<agent id>} in {@code wanted} exist (possibly more). */
    Set<String> actionResults(Collection<String> wanted) throws Exception;
}
