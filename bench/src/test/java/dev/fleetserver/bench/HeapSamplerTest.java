package dev.fleetserver.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class HeapSamplerTest {
    private static final String HEADER = "    S0C         S1C         S0U         S1U          EC           EU           OC"
            + "           OU          MC         MU       CCSC      CCSU     YGC     YGCT     FGC    FGCT     CGC    CGCT"
            + "       GCT   ";

    @Test
    void heapUsedIsSurvivorsEdenAndOldGenerationUsedInKilobytes() {
        String line = "        0.0      2048.0         0.0      1515.5     155648.0      23552.0     104448.0       4347.5"
                + "    10176.0    10003.9    1344.0    1218.1      2     0.062     0     0.000     0     0.000     0.062";

        HeapSampler.Sample s = HeapSampler.parse(HEADER, line);

        assertThat(s.used()).isEqualTo((long) ((1515.5 + 23552.0 + 4347.5) * 1024));
        assertThat(s.old()).isEqualTo((long) (4347.5 * 1024));
    }

    @Test
    void aLineThatDoesNotMatchTheHeaderIsRefused() {
        assertThatThrownBy(() -> HeapSampler.parse(HEADER, "1.0 2.0")).isInstanceOf(IllegalArgumentException.class);
    }
}
