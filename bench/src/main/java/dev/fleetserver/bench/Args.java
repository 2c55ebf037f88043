package dev.fleetserver.bench;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** {@code --name value} command-line options with defaults; unknown names stop the program with a message. */
final class Args {
    private final Map<String, String> values = new HashMap<>();
    private final String usage;

    Args(String[] args, String usage, List<String> known) {
        this.usage = usage;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--help") || a.equals("-h")) {
                System.out.println(usage);
                System.exit(0);
            }
            if (!a.startsWith("--") || i + 1 >= args.length) {
                fail("expected --name value, got " + a);
            }
            String name = a.substring(2);
            if (!known.contains(name)) {
                fail("unknown option --" + name);
            }
            values.put(name, args[++i]);
        }
    }

    private void fail(String why) {
        System.err.println(why);
        System.err.println(usage);
        System.exit(2);
    }

    String get(String name, String def) {
        return values.getOrDefault(name, def);
    }

    String required(String name) {
        String v = values.get(name);
        if (v == null) {
            fail("--" + name + " is required");
        }
        return v;
    }

    int integer(String name, int def) {
        return Integer.parseInt(get(name, Integer.toString(def)));
    }

    long longValue(String name, long def) {
        return Long.parseLong(get(name, Long.toString(def)));
    }
}
