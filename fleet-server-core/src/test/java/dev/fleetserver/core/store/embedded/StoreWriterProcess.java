package dev.fleetserver.core.store.embedded;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Child-process helper for the crash test: opens the store in {@code args[0]} and writes documents one at a time,
 * printing {@code written <id>} only after each write's future completed. Runs until killed (or a bound).
 */
public final class StoreWriterProcess {
    static final String INDEX = "crash-test";
    static final String PREFIX = "written ";

    private StoreWriterProcess() {
    }

    public static void main(String[] args) throws Exception {
        SqliteDocumentStore store = SqliteDocumentStore.open(Path.of(args[0]));
        for (int i = 0; i < 1_000_000; i++) {
            String id = "doc-" + i;
            store.create(INDEX, id, JsonNodeFactory.instance.objectNode().put("n", i)).get(30, TimeUnit.SECONDS);
            System.out.println(PREFIX + id);
            System.out.flush();
        }
        store.close();
    }
}
