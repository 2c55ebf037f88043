package dev.fleetserver.core.longpoll;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** A live action dispatch must not answer a checkin whose own lookup of older pending actions is still running. */
class ParkedCheckinLookupTest {
    private final ParkedCheckin parked = new ParkedCheckin("agent-1", "policy-1", 1, 10, "online", "", null,
            new RecordingSink(), new CheckinRegistry());

    @Test
    void aCheckinThatLooksUpNothingTakesLiveActionsAtOnce() {
        assertThat(parked.acceptsLiveActions()).isTrue();
    }

    @Test
    void aDispatchDuringTheLookupIsHeldBackAndMakesTheLookupLookAgain() {
        parked.startLookup();

        assertThat(parked.acceptsLiveActions()).as("held back while looking").isFalse();
        assertThat(parked.finishLookup()).as("look again").isTrue();
        assertThat(parked.acceptsLiveActions()).as("still looking: a later dispatch is held back too").isFalse();
        assertThat(parked.finishLookup()).as("and looks again once more").isTrue();
        assertThat(parked.finishLookup()).as("nothing came meanwhile").isFalse();
        assertThat(parked.acceptsLiveActions()).isTrue();
    }

    @Test
    void aLookupWithoutADispatchMeanwhileEndsAndLetsTheNextDispatchAnswer() {
        parked.startLookup();

        assertThat(parked.finishLookup()).isFalse();
        assertThat(parked.acceptsLiveActions()).isTrue();
    }
}
