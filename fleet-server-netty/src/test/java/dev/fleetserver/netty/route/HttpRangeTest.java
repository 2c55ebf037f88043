package dev.fleetserver.netty.route;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class HttpRangeTest {

    @Test
    void noHeaderMeansTheWholeContent() throws Exception {
        assertThat(HttpRange.parse(null, 100)).isEmpty();
        assertThat(HttpRange.parse("", 100)).isEmpty();
    }

    @Test
    void closedOpenAndSuffixRangesAreClampedToTheContent() throws Exception {
        assertThat(HttpRange.parse("bytes=10-19", 100)).containsExactly(new HttpRange(10, 10));
        assertThat(HttpRange.parse("bytes=90-", 100)).containsExactly(new HttpRange(90, 10));
        assertThat(HttpRange.parse("bytes=90-500", 100)).containsExactly(new HttpRange(90, 10));
        assertThat(HttpRange.parse("bytes=-30", 100)).containsExactly(new HttpRange(70, 30));
        assertThat(HttpRange.parse("bytes=-300", 100)).containsExactly(new HttpRange(0, 100));
        assertThat(HttpRange.parse("bytes= 1-2 , 5-6", 100)).containsExactly(new HttpRange(1, 2), new HttpRange(5, 2));
        assertThat(new HttpRange(10, 10).contentRange(100)).isEqualTo("bytes 10-19/100");
    }

    @Test
    void rangesPastTheEndAreDroppedAndOnlySuchRangesFail() throws Exception {
        assertThat(HttpRange.parse("bytes=200-300,0-0", 100)).containsExactly(new HttpRange(0, 1));
        assertThatThrownBy(() -> HttpRange.parse("bytes=100-", 100)).isInstanceOf(HttpRange.Invalid.class);
    }

    @Test
    void malformedHeadersFail() {
        for (String bad : List.of("items=1-2", "bytes=5", "bytes=5-1", "bytes=-0", "bytes=--5", "bytes=a-b", "bytes=-")) {
            assertThatThrownBy(() -> HttpRange.parse(bad, 100)).as(bad).isInstanceOf(HttpRange.Invalid.class);
        }
    }
}
