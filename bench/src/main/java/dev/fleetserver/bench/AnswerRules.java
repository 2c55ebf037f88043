package dev.fleetserver.bench;

import java.util.Map;
import java.util.TreeMap;

/**
 * Which answers a chaos phase tolerates. Keys are counters as the load generator and the attack client print them:
 * {@code [<step>.]<status>}, with {@code .ra} when a non-2xx answer carried {@code Retry-After}
 * (e.g. {@code checkin.503.ra}, {@code ack.200}, {@code 401}).
 */
final class AnswerRules {
    private AnswerRules() {
    }

    /**
     * The answers to the simulated agents that break the rule "200, or 429 / 503 with {@code Retry-After}": a 401
     * (after which a real agent stops checking in), any other 4xx, a 5xx without {@code Retry-After}, a 503 or 429
     * without it. With {@code retryLaterAllowed} false, 429 and 503 are violations too.
     */
    static Map<String, Long> agentViolations(Map<String, Long> answers, boolean retryLaterAllowed) {
        Map<String, Long> out = new TreeMap<>();
        answers.forEach((key, count) -> {
            if (count <= 0) {
                return;
            }
            Answer a = Answer.parse(key);
            boolean ok = a.status() == 200
                    || retryLaterAllowed && a.retryAfter() && (a.status() == 429 || a.status() == 503);
            if (!ok) {
                out.put(key, count);
            }
        });
        return out;
    }

    /**
     * The answers to an attacker without credentials that break the rule "a 4xx, or a 5xx with {@code Retry-After}":
     * any 1xx/2xx/3xx (the server did the attacker's bidding) and a 5xx without {@code Retry-After}.
     */
    static Map<String, Long> attackViolations(Map<String, Long> answers) {
        Map<String, Long> out = new TreeMap<>();
        answers.forEach((key, count) -> {
            if (count <= 0) {
                return;
            }
            Answer a = Answer.parse(key);
            boolean ok = a.status() >= 400 && a.status() < 500 || a.status() >= 500 && a.retryAfter();
            if (!ok) {
                out.put(key, count);
            }
        });
        return out;
    }

    /** {@code after - before} per key, keeping only keys that grew. */
    static Map<String, Long> delta(Map<String, Long> before, Map<String, Long> after) {
        Map<String, Long> out = new TreeMap<>();
        after.forEach((k, v) -> {
            long d = v - before.getOrDefault(k, 0L);
            if (d > 0) {
                out.put(k, d);
            }
        });
        return out;
    }

    /** Sum of the counts whose status matches. */
    static long count(Map<String, Long> answers, int status, boolean retryAfter) {
        long n = 0;
        for (Map.Entry<String, Long> e : answers.entrySet()) {
            Answer a = Answer.parse(e.getKey());
            if (a.status() == status && a.retryAfter() == retryAfter) {
                n += e.getValue();
            }
        }
        return n;
    }

    /** One counter key taken apart. */
    record Answer(String step, int status, boolean retryAfter) {
        static Answer parse(String key) {
            String[] parts = key.split("\\.");
            int i = 0;
            String step = "";
            if (!parts[0].chars().allMatch(Character::isDigit)) {
                step = parts[0];
                i = 1;
            }
            int status = Integer.parseInt(parts[i]);
            boolean ra = parts.length > i + 1 && parts[i + 1].equals("ra");
            return new Answer(step, status, ra);
        }
    }
}
