package dev.conntrack.operator;

import dev.conntrack.api.ConntrackNodeState;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;

@ControllerConfiguration(name = "nodestate")
public class NodeStatePlaceholderReconciler implements Reconciler<ConntrackNodeState> {
    @Override
    public UpdateControl<ConntrackNodeState> reconcile(ConntrackNodeState resource, Context<ConntrackNodeState> context) {
        return UpdateControl.noUpdate();
    }
}
