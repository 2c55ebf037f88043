package dev.fleetserver.core.store;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

class JsonMergeTest {
    private static final ObjectMapper MAPPER = JsonMapper.builder()
        .enable(JsonReadFeature.ALLOW_SINGLE_QUOTES, JsonReadFeature.ALLOW_UNQUOTED_FIELD_NAMES)
        .build();

    @Test
    void objectsAreMergedRecursively() {
        ObjectNode target = json("{agent: {id: 'a', meta: {os: 'linux', arch: 'x64'}}, keep: 1}");

        JsonMerge.mergeInto(target, json("{agent: {meta: {arch: 'arm64'}, version: '9'}}"));

        assertThat(target).isEqualTo(json("{agent: {id: 'a', meta: {os: 'linux', arch: 'arm64'}, version: '9'}, keep: 1}"));
    }

    @Test
    void arraysScalarsAndNullReplace() {
        ObjectNode target = json("{tags: ['a', 'b'], n: 1, obj: {x: 1}, gone: 'x', scalar: 1}");

        JsonMerge.mergeInto(target, json("{tags: ['c'], n: 'one', obj: [1], gone: null, scalar: {now: 'object'}}"));

        assertThat(target).isEqualTo(json("{tags: ['c'], n: 'one', obj: [1], gone: null, scalar: {now: 'object'}}"));
    }

    @Test
    void anEmptyPartialChangesNothingAndNewFieldsAreAdded() {
        ObjectNode target = json("{a: 1}");

        JsonMerge.mergeInto(target, json("{}"));
        JsonMerge.mergeInto(target, json("{b: {c: 2}}"));

        assertThat(target).isEqualTo(json("{a: 1, b: {c: 2}}"));
    }

    @Test
    void theTargetDoesNotShareNodesWithThePartial() {
        ObjectNode target = json("{}");
        ObjectNode partial = json("{obj: {x: 1}}");

        JsonMerge.mergeInto(target, partial);
        ((ObjectNode) partial.get("obj")).put("x", 2);

        assertThat(target).isEqualTo(json("{obj: {x: 1}}"));
    }

    private static ObjectNode json(String lenientJson) {
        try {
            return (ObjectNode) MAPPER.readTree(lenientJson);
        } catch (Exception e) {
            throw new IllegalArgumentException(lenientJson, e);
        }
    }
}
