package dev.fleetserver.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class LostWritesTest {
    private static Journal journal(String... lines) {
        Journal j = new Journal();
        for (String l : lines) {
            j.add(l);
        }
        return j;
    }

    private static LostWrites.AgentDoc doc(long revision) {
        return new LostWrites.AgentDoc("default", revision);
    }

    @Test
    void nothingIsLostWhenEveryAnsweredWriteIsInTheStore() {
        Journal j = journal("enroll a1", "ack a1 policy:default:2", "ack a1 act-1");

        LostWrites.Lost lost = LostWrites.check(j, Map.of("a1", doc(2)), Set.of("act-1:a1"));

        assertThat(lost.total()).isZero();
    }

    @Test
    void anEnrollWithoutItsAgentDocumentIsLost() {
        LostWrites.Lost lost = LostWrites.check(journal("enroll a1", "enroll a2"), Map.of("a1", doc(0)), Set.of());

        assertThat(lost.enrolls()).containsExactly("a2");
    }

    @Test
    void aPolicyAckAboveTheDocumentsRevisionIsLost() {
        Journal j = journal("ack a1 policy:default:3", "ack a2 policy:default:3");

        LostWrites.Lost lost = LostWrites.check(j, Map.of("a1", doc(2), "a2", doc(4)), Set.of());

        assertThat(lost.policyAcks()).containsExactly("a1 acked default revision 3, document at 2");
    }

    @Test
    void onlyTheHighestAckedRevisionOfAnAgentCounts() {
        Journal j = journal("ack a1 policy:default:5", "ack a1 policy:default:2", "ack a1 policy:default:4");

        assertThat(j.policyAcks()).containsExactly(new Journal.PolicyAck("a1", "default", 5));
        assertThat(LostWrites.check(j, Map.of("a1", doc(4)), Set.of()).policyAcks()).hasSize(1);
    }

    @Test
    void aPolicyAckWithACoordinatorRevisionIsReadLikeThePlainOne() {
        Journal j = journal("ack a1 policy:default:7:1");

        assertThat(j.policyAcks()).containsExactly(new Journal.PolicyAck("a1", "default", 7));
    }

    @Test
    void aPolicyAckOfAnAgentWithoutDocumentIsLost() {
        LostWrites.Lost lost = LostWrites.check(journal("ack a9 policy:default:1"), Map.of(), Set.of());

        assertThat(lost.policyAcks()).containsExactly("a9 acked default revision 1, no document");
    }

    @Test
    void aPolicyAckOfAnotherPolicyThanTheDocumentsIsNotCountedAsLost() {
        LostWrites.Lost lost = LostWrites.check(journal("ack a1 policy:old:9"), Map.of("a1", doc(1)), Set.of());

        assertThat(lost.total()).isZero();
    }

    @Test
    void anActionAckWithoutItsResultIsLost() {
        Journal j = journal("ack a1 act-1", "ack a2 act-1", "ack a2 act-2");

        LostWrites.Lost lost = LostWrites.check(j, Map.of("a1", doc(1), "a2", doc(1)), Set.of("act-1:a1", "act-2:a2"));

        assertThat(lost.actionAcks()).containsExactly("act-1:a2");
    }

    @Test
    void aLineCutShortByAKilledWriterIsCountedAsMalformedAndIgnored() {
        Journal j = journal("enroll a1", "ack a1", "ack a1 policy:default:", "");

        assertThat(j.malformed()).isEqualTo(2);
        assertThat(j.lines()).isEqualTo(3);
        assertThat(j.enrolled()).containsExactly("a1");
    }

    @Test
    void theJournalNamesEveryAgentItMentions() {
        Journal j = journal("enroll a1", "ack a2 policy:default:1", "ack a3 act-1");

        assertThat(j.agents()).containsExactly("a1", "a2", "a3");
    }

    @Test
    void aDocumentAtALowerRevisionAfterACrashIsARollback() {
        Map<String, LostWrites.AgentDoc> before = Map.of("a1", doc(3), "a2", doc(3));
        Map<String, LostWrites.AgentDoc> after = Map.of("a1", doc(2), "a2", doc(4));

        assertThat(LostWrites.rollbacks(before, after)).containsExactly("a1 from revision 3 back to 2");
    }

    @Test
    void aDocumentThatDisappearedIsARollback() {
        assertThat(LostWrites.rollbacks(Map.of("a1", doc(1)), Map.of())).containsExactly("a1 gone (was at revision 1)");
    }

    @Test
    void documentsThatStayedOrMovedForwardAreNoRollback() {
        Map<String, LostWrites.AgentDoc> before = Map.of("a1", doc(3));
        Map<String, LostWrites.AgentDoc> after = Map.of("a1", doc(3), "a2", doc(1));

        assertThat(LostWrites.rollbacks(before, after)).isEmpty();
    }
}
