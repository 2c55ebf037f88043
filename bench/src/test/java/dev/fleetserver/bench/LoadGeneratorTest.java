package dev.fleetserver.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.util.List;
import org.junit.jupiter.api.Test;

class LoadGeneratorTest {
    private static final InetSocketAddress A = new InetSocketAddress("127.0.0.1", 1);
    private static final InetSocketAddress B = new InetSocketAddress("127.0.0.1", 2);
    private static final InetSocketAddress C = new InetSocketAddress("127.0.0.1", 3);

    @Test
    void anAgentsHomeIsTargetIModNAndItFailsOverToTheOnesAfterIt() {
        List<InetSocketAddress> targets = List.of(A, B, C);

        assertThat(LoadGenerator.failoverOrder(targets, 0)).containsExactly(A, B, C);
        assertThat(LoadGenerator.failoverOrder(targets, 4)).containsExactly(B, C, A);
        assertThat(LoadGenerator.failoverOrder(targets, 5)).containsExactly(C, A, B);
    }

    @Test
    void withOneTargetThereIsNothingToFailOverTo() {
        assertThat(LoadGenerator.failoverOrder(List.of(A), 7)).containsExactly(A);
    }
}
