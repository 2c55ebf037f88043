package dev.fleetserver.es.store;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.cbor.databind.CBORMapper;
import java.util.Arrays;
import java.util.Base64;
import java.util.Random;
import org.junit.jupiter.api.Test;

class FileChunkCborTest {

    @Test
    void aChunkDocumentIsACborMapOfTheOriginalsFiveFieldsInItsOrder() throws Exception {
        byte[] data = new byte[300];
        new Random(1).nextBytes(data);
        byte[] doc = FileChunkCbor.encode(1_700_000_000_123L, true, "act.agent", "ab12", data, 0, data.length);

        // 0xA5: a map of exactly five entries, as the original writes it.
        assertThat(doc[0] & 0xff).isEqualTo(0xA5);
        JsonNode tree = new CBORMapper().readTree(doc);
        assertThat(tree.properties()).extracting(java.util.Map.Entry::getKey)
                .containsExactly("@timestamp", "last", "bid", "sha2", "data");
        assertThat(tree.get("@timestamp").asLong()).isEqualTo(1_700_000_000_123L);
        assertThat(tree.get("last").asBoolean()).isTrue();
        assertThat(tree.get("bid").asText()).isEqualTo("act.agent");
        assertThat(tree.get("sha2").asText()).isEqualTo("ab12");
        assertThat(tree.get("data").binaryValue()).isEqualTo(data);
    }

    @Test
    void everyLengthEncodingOfTheDataRoundTrips() {
        byte[] all = new byte[4 * 1024 * 1024 + 7];
        new Random(2).nextBytes(all);
        for (int length : new int[] {0, 1, 23, 24, 255, 256, 65_535, 65_536, 4 * 1024 * 1024}) {
            byte[] doc = FileChunkCbor.encode(5, false, "b", "s", all, 7, length);
            FileChunkCbor.Decoded d = FileChunkCbor.decode(doc);
            assertThat(d.data()).as("length " + length).isEqualTo(Arrays.copyOfRange(all, 7, 7 + length));
            assertThat(d.last()).isFalse();
            assertThat(d.bid()).isEqualTo("b");
        }
    }

    @Test
    void theDataOfAGetAnswerIsReadFromItsBase64Rendering() {
        byte[] data = {0, 1, 2, (byte) 0xff};
        String json = "{\"_index\":\"x\",\"_id\":\"a.0\",\"found\":true,\"_source\":{\"sha2\":\"s\",\"data\":\""
                + Base64.getEncoder().encodeToString(data) + "\",\"last\":true}}";
        assertThat(FileChunkCbor.sourceData(json.getBytes())).isEqualTo(data);
        assertThat(FileChunkCbor.sourceData("{\"found\":true,\"_source\":{}}".getBytes())).isNull();
    }
}
