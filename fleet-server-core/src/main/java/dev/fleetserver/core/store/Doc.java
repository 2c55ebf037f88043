package dev.fleetserver.core.store;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One stored document, as read from a {@link DocumentStore}.
 *
 * @param index       the index (alias) name, e.g. {@code .fleet-agents}
 * @param id          the document id ({@code _id})
 * @param seqNo       the per-index sequence number of the write that produced this version ({@code _seq_no})
 * @param primaryTerm the primary term of that write ({@code _primary_term}; always 1 on the embedded store)
 * @param source      the document body ({@code _source}); callers must not mutate it
 */
public record Doc(String index, String id, long seqNo, long primaryTerm, ObjectNode source) {
}
