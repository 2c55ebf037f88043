package dev.fleetserver.core.util;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ManualSchedulerTest {

    @Test
    void tasksRunOnlyWhenTheirTimeHasCome() {
        ManualScheduler s = new ManualScheduler();
        List<String> ran = new ArrayList<>();
        s.schedule(() -> ran.add("now"), Duration.ZERO);
        s.schedule(() -> ran.add("later"), Duration.ofSeconds(10));

        assertThat(s.runDue()).isEqualTo(1);
        assertThat(ran).containsExactly("now");
        s.advance(Duration.ofSeconds(9));
        assertThat(ran).containsExactly("now");
        s.advance(Duration.ofSeconds(1));
        assertThat(ran).containsExactly("now", "later");
    }

    @Test
    void periodicTasksRepeatAndStopWhenCancelled() {
        ManualScheduler s = new ManualScheduler();
        int[] count = {0};
        Scheduler.Cancellable c = s.scheduleEvery(() -> count[0]++, Duration.ofSeconds(1));

        s.advance(Duration.ofSeconds(3));
        assertThat(count[0]).isEqualTo(3);
        c.cancel();
        c.cancel();
        s.advance(Duration.ofSeconds(3));
        assertThat(count[0]).isEqualTo(3);
        assertThat(s.pending()).isZero();
    }
}
