package dev.fleetserver.core.store;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One write of a {@link DocumentStore#bulk(java.util.List)} batch. Each op is applied on its own: one failing op
 * does not fail the others.
 */
public sealed interface WriteOp {
    String index();

    String id();

    /** Create a new document; fails with {@link StoreException.Conflict} when the id exists. */
    record Create(String index, String id, ObjectNode source) implements WriteOp {
    }

    /**
     * Create or replace the whole document. With {@code ifSeqNo} set ({@code >= 0}) it only replaces the version
     * read (as {@link Update}), failing with {@link StoreException.Conflict} when the document changed or is gone:
     * the way to remove a field without a script.
     */
    record Put(String index, String id, ObjectNode source, long ifSeqNo, long ifPrimaryTerm) implements WriteOp {
        public Put(String index, String id, ObjectNode source) {
            this(index, id, source, -1, -1);
        }

        /** Replaces the version read in {@code doc} with {@code source}. */
        public static Put ifUnchanged(Doc doc, ObjectNode source) {
            return new Put(doc.index(), doc.id(), source, doc.seqNo(), doc.primaryTerm());
        }
    }

    /**
     * Merge {@code partial} into the existing document, like Elasticsearch's partial {@code doc} update: objects are
     * merged recursively, every other value (arrays, scalars, {@code null}) replaces the old one. Fails with
     * {@link StoreException.NotFound} when the document does not exist, and with {@link StoreException.Conflict} when
     * {@code ifSeqNo} is set ({@code >= 0}) and differs from the document's current sequence number (or
     * {@code ifPrimaryTerm}, when set, from its primary term: Elasticsearch needs both, and the term changes when a
     * primary moves, e.g. after a restart).
     */
    record Update(String index, String id, ObjectNode partial, long ifSeqNo, long ifPrimaryTerm) implements WriteOp {
        public Update(String index, String id, ObjectNode partial) {
            this(index, id, partial, -1, -1);
        }

        /** Conditional on the sequence number only (primary term 1, the embedded store's and a fresh index's). */
        public Update(String index, String id, ObjectNode partial, long ifSeqNo) {
            this(index, id, partial, ifSeqNo, -1);
        }

        /** Conditional on the version read in {@code doc}. */
        public static Update ifUnchanged(Doc doc, ObjectNode partial) {
            return new Update(doc.index(), doc.id(), partial, doc.seqNo(), doc.primaryTerm());
        }
    }

    /** Delete; fails with {@link StoreException.NotFound} when absent. */
    record Delete(String index, String id) implements WriteOp {
    }
}
